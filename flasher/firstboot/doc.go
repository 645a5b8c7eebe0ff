// Package firstboot prepares a freshly written OS image so the node boots
// ready for SSH: hostname, user, authorized keys and an ed25519 host key
// generated here, written to the image's FAT boot partition in the seed
// format its OS reads.
//
// # Formats
//
// Detect decides the OS family from the boot partition alone:
//
//   - dietpi.txt present: DietPi; dietpi.txt is edited and
//     Automation_Custom_Script.sh installs the host key and the marker.
//   - label HypriotOS: a cloud-init user-data with a users: list.
//   - label CIDATA on GPT (the RK1's 4 MiB FAT32): cloud-init NoCloud.
//   - label system-boot: Ubuntu, cloud-init NoCloud.
//   - config.txt and cmdline.txt with issue.txt or label bootfs: Raspberry
//     Pi OS; Trixie when the FAT carries user-data or meta-data (cloud-init
//     NoCloud), Bookworm otherwise (firstrun.sh run by systemd.run= on
//     cmdline.txt, as Raspberry Pi Imager writes it).
//
// Anything else is ErrUnknownOS, naming the label and the files found.
// NoCloud seeds get a new instance-id on every flash, repeated as
// ds=nocloud;i=… on cmdline.txt; network-config is written only when given.
//
// # When detection runs
//
// The seed can only be written after the image is on the eMMC (the edit
// allocates clusters anywhere in the partition, and the image's own bytes
// would overwrite an edit made while streaming). The decision whether the
// image can be prepared should come before the slot is touched, so there
// are two calls:
//
//   - Detect on the first MiBs of the decompressed stream, wrapped in
//     PrefixReader, before the write: for Raspberry Pi OS the partition
//     table, boot sector, FATs and root directory lie in the first ~8 MiB,
//     for the RK1 image in the first 20 MiB, so buffering 32 MiB of the
//     stream suffices in practice. A read past the prefix fails with
//     ErrBeyondPrefix, never with a wrong answer; the caller then buffers
//     more or decides after the write.
//   - Apply after the write is verified, on the device: it detects again
//     (the device is authoritative), renders, edits and reads back.
//
// # The edit
//
// The FAT is edited in pure Go (go-diskfs v1.9.4's fat16 and fat32
// packages) through an overlay that holds every write in memory; it is
// written to the device in one pass only when the whole edit succeeded,
// so a seed that does not fit, a corrupt FAT or a read error leaves the
// device untouched. Two go-diskfs defects are worked around: files are
// never written empty (an empty file keeps a cluster), and FAT32's FSInfo
// free count and hint are set to unknown (go-diskfs leaves them stale).
// The FAT type is taken from the boot sector, not the cluster count, so
// the RK1's FAT32 with 8034 clusters is handled as FAT32.
//
// # After the first boot
//
// The node prints a marker line on /dev/serial0 (or /dev/console) at every
// boot once it has an address; see MarkerPrefix and ParseMarker. The seed's
// secrets (the host private key, the password hash) are removed from the
// boot partition once used: firstrun.sh and the DietPi script delete
// themselves, and cloud-init images run a scrub that cuts the fenced secret
// lines out of user-data.
package firstboot
