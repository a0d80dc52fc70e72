// Package browsertest holds no code: its test opens Credence's public pages in headless Chromium
// (drive.mjs, on playwright-core from package-lock.json) against a local server and checks what
// a visitor's browser really shows: the status banner, the QR code, the in-browser signature
// check for a genuine and a tampered token, a revoked credential, and axe-core's accessibility
// rules. `make test` installs Chromium and the npm packages (.ci/testenv.sh); without them the
// test skips, unless CREDENCE_REQUIRE_EMULATORS=1, where it fails.
//
// CREDENCE_UPDATE_SCREENSHOTS=1 writes the screenshots of a valid and a revoked page to
// docs/screenshots/ (otherwise they go to a temporary directory, so a test run leaves the tree
// clean).
package browsertest
