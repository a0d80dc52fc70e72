//go:build !linux

package emlmailer

import "os"

// syncFS: other systems have no call that syncs one file system; syncing the folder makes at
// least the new names durable.
func syncFS(d *os.File) error { return d.Sync() }
