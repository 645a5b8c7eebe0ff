// Package bmap reads bmaptool's block maps: which blocks of a disk image
// hold data, with a checksum per range of them, so that a flasher writes
// only those and checks them as they stream.
//
// # Format
//
// A bmap file is XML (bmaptool's BmapCreate writes it, BmapCopy reads
// it). Versions 1.x and 2.x are understood:
//
//	<bmap version="2.0">
//	    <ImageSize> 821752 </ImageSize>
//	    <BlockSize> 4096 </BlockSize>
//	    <BlocksCount> 201 </BlocksCount>
//	    <MappedBlocksCount> 117 </MappedBlocksCount>
//	    <ChecksumType> sha256 </ChecksumType>
//	    <BmapFileChecksum> 4310fd457... </BmapFileChecksum>
//	    <BlockMap>
//	        <Range chksum="9eaf19215..."> 0-1 </Range>
//	        <Range chksum="e8a26f49a..."> 3 </Range>
//	    </BlockMap>
//	</bmap>
//
// Versions 1.0 to 1.2 carry no checksums; 1.3 uses SHA-1, in a
// BmapFileSHA1 element and sha1 attributes; 1.4 (a mistaken name for
// 2.0) and 2.x name the type in ChecksumType, of which sha256 is
// accepted (and sha1 in 1.x files).
//
// The file's own checksum is that of the file with the checksum's value
// replaced by as many '0' characters, as bmaptool computes it.
//
// # Validation
//
// Parse is strict: the counts must agree (BlocksCount is ImageSize
// rounded up to blocks, MappedBlocksCount the sum of the ranges), ranges
// must be sorted, disjoint and inside the image, every range must carry
// a checksum when the file declares a type, and the file's checksum
// must match. A map that passes can be followed without further checks.
package bmap
