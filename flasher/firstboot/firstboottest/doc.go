// Package firstboottest builds disk images for the firstboot tests with
// Debian's own tools (sfdisk, mkfs.fat, mtools) and checks what the code
// wrote with them (fsck.fat, mtype), so the tests do not grade the FAT
// code with itself.
package firstboottest
