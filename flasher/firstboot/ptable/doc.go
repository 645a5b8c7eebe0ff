// Package ptable reads MBR and GPT partition tables from the first sectors
// of a disk. It assumes 512-byte logical sectors, as eMMC and SD cards use,
// and parses nothing but the tables: what a partition holds is the
// caller's business.
package ptable
