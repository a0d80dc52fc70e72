package emlmailer

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// syncFS writes out the file system d is on with syncfs(2): the messages' data and the inode
// tables, which an fsync of each file would write one block at a time.
func syncFS(d *os.File) error {
	if err := unix.Syncfs(int(d.Fd())); err != nil {
		return fmt.Errorf("emlmailer: syncfs: %w", err)
	}
	return nil
}
