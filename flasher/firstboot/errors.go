package firstboot

import "errors"

// Sentinel errors. The functions wrap them with what they found, so a
// caller can both test the cause and show the details.
var (
	// ErrNoFAT means no partition of the disk holds a FAT filesystem.
	ErrNoFAT = errors.New("no FAT boot partition")
	// ErrCorruptFAT means the boot partition's FAT could not be parsed.
	ErrCorruptFAT = errors.New("corrupt FAT filesystem")
	// ErrUnsupportedFAT means a FAT variant this package does not edit (FAT12, non-512-byte sectors).
	ErrUnsupportedFAT = errors.New("unsupported FAT filesystem")
	// ErrUnknownOS means the boot partition matches no OS family this package seeds.
	ErrUnknownOS = errors.New("unrecognised OS image")
	// ErrBeyondPrefix means detection needed bytes past the part of the image it was given.
	ErrBeyondPrefix = errors.New("read past the available image prefix")
	// ErrInvalidSeed means a seed field is invalid (hostname, user, key, hash, instance-id).
	ErrInvalidSeed = errors.New("invalid seed")
	// ErrNoSpace means the boot partition has no room for the seed files.
	ErrNoSpace = errors.New("boot partition full")
	// ErrVerify means a file read back after the edit differs from what was written.
	ErrVerify = errors.New("read-back mismatch")
	// ErrNotMarker means a console line holds no first-boot marker.
	ErrNotMarker = errors.New("not a first-boot marker")
	// ErrBadMarker means a console line holds a malformed first-boot marker.
	ErrBadMarker = errors.New("malformed first-boot marker")
)
