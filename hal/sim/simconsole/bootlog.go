package simconsole

import (
	"fmt"
	"time"
)

// The simulated module's kernel, as uname reports it.
const (
	kernelRelease = "6.6.31-v8+"
	kernelVersion = "#1762 SMP PREEMPT Mon May 20 11:00:00 BST 2024"
	machine       = "aarch64"
)

// bootLine is one line of the boot log.
type bootLine struct {
	// pause is the time to wait before the line, in units of
	// Opts.LineDelay.
	pause int
	// kernel lines are printk lines, prefixed with the time since power-on.
	kernel bool
	// raw text is written as is; other lines end with "\r\n".
	raw  bool
	text string
}

// render returns the line as written to the console, elapsed after
// power-on.
func (l bootLine) render(elapsed time.Duration) []byte {
	switch {
	case l.raw:
		return []byte(l.text)
	case l.kernel:
		sec := elapsed / time.Second
		usec := (elapsed % time.Second) / time.Microsecond
		return fmt.Appendf(nil, "[%5d.%06d] %s\r\n", sec, usec, l.text)
	default:
		return []byte(l.text + "\r\n")
	}
}

// issue is what a getty prints before its first login prompt.
func issue(host string) string {
	return fmt.Sprintf("\r\nDebian GNU/Linux 12 %s ttyS0\r\n\r\n%s login: ", host, host)
}

// bootLog returns the console output of a Compute Module 4 booting
// Debian 12 (Raspberry Pi OS) with its console on ttyS0, up to the login
// prompt. Its pauses add up to about 60 line delays. A marker, when given,
// is printed as the seed's marker service prints it, after sshd started.
func bootLog(host, marker string) []bootLine {
	k := func(pause int, text string) bootLine { return bootLine{pause: pause, kernel: true, text: text} }
	s := func(pause int, text string) bootLine { return bootLine{pause: pause, text: text} }
	lines := []bootLine{
		k(0, "Booting Linux on physical CPU 0x0000000000 [0x410fd083]"),
		k(1, "Linux version "+kernelRelease+" (dom@buildbot) (aarch64-linux-gnu-gcc-8 (Ubuntu/Linaro 8.4.0-3ubuntu1) 8.4.0, GNU ld (GNU Binutils for Ubuntu) 2.34) "+kernelVersion),
		k(0, "KASLR disabled due to lack of seed"),
		k(1, "Machine model: Raspberry Pi Compute Module 4 Rev 1.0"),
		k(0, "efi: UEFI not found."),
		k(1, "Reserved memory: created CMA memory pool at 0x000000001ec00000, size 320 MiB"),
		k(0, "OF: reserved mem: initialized node linux,cma, compatible id shared-dma-pool"),
		k(1, "percpu: Embedded 29 pages/cpu s80488 r8192 d30104 u118784"),
		k(0, "Detected PIPT I-cache on CPU0"),
		k(1, "Kernel command line: coherent_pool=1M 8250.nr_uarts=1 snd_bcm2835.enable_headphones=0 console=ttyS0,115200 console=tty1 root=PARTUUID=4e639091-02 rootfstype=ext4 fsck.repair=yes rootwait"),
		k(1, "Memory: 3633148K/4050944K available (12288K kernel code, 2184K rwdata, 4096K rodata, 4480K init, 1088K bss, 89476K reserved, 327680K cma-reserved)"),
		k(0, "SLUB: HWalign=64, Order=0-3, MinObjects=0, CPUs=4, Nodes=1"),
		k(1, "rcu: Preemptible hierarchical RCU implementation."),
		k(0, "arch_timer: cp15 timer(s) running at 54.00MHz (phys)."),
		k(1, "Calibrating delay loop (skipped), value calculated using timer frequency.. 108.00 BogoMIPS (lpj=216000)"),
		k(2, "smp: Brought up 1 node, 4 CPUs"),
		k(0, "SMP: Total of 4 processors activated."),
		k(0, "CPU: All CPU(s) started at EL2"),
		k(1, "devtmpfs: initialized"),
		k(2, "bcm2835-dma fe007000.dma: DMA legacy API manager, dmachans=0x1"),
		k(1, "fe215040.serial: ttyS0 at MMIO 0xfe215040 (irq = 36, base_baud = 62500000) is a 16550"),
		k(0, "printk: console [ttyS0] enabled"),
		k(2, "bcm2835-wdt bcm2835-wdt: Broadcom BCM2835 watchdog timer"),
		k(2, "mmc0: SDHCI controller on fe340000.mmc [fe340000.mmc] using ADMA"),
		k(3, "mmc0: new high speed MMC card at address 0001"),
		k(1, "mmcblk0: mmc0:0001 BJTD4R 29.1 GiB"),
		k(0, " mmcblk0: p1 p2"),
		k(1, "bcmgenet fd580000.ethernet: GENET 5.0 EPHY: 0x0000"),
		k(2, "EXT4-fs (mmcblk0p2): mounted filesystem 3ad7386b-e1ae-4032-ae33-0c40f5ecc4ac ro with ordered data mode. Quota mode: none."),
		k(0, "VFS: Mounted root (ext4 filesystem) readonly on device 179:2."),
		k(1, "Freeing unused kernel memory: 4480K"),
		k(0, "Run /sbin/init as init process"),
		k(3, "systemd[1]: systemd 252.30-1~deb12u2 running in system mode (+PAM +AUDIT +SELINUX +APPARMOR +IMA +SMACK +SECCOMP -GCRYPT)"),
		k(1, "systemd[1]: Hostname set to <"+host+">."),
		s(2, "\r\nWelcome to \x1b[1mDebian GNU/Linux 12 (bookworm)\x1b[0m!\r\n"),
		s(1, "[  OK  ] Created slice system-getty.slice - Slice /system/getty."),
		s(1, "[  OK  ] Started systemd-journald.service - Journal Service."),
		s(1, "[  OK  ] Finished systemd-remount-fs.service - Remount Root and Kernel File Systems."),
		k(1, "EXT4-fs (mmcblk0p2): re-mounted 3ad7386b-e1ae-4032-ae33-0c40f5ecc4ac r/w. Quota mode: none."),
		s(2, "[  OK  ] Mounted boot-firmware.mount - /boot/firmware."),
		s(1, "[  OK  ] Reached target local-fs.target - Local File Systems."),
		s(1, "[  OK  ] Started systemd-udevd.service - Rule-based Manager for Device Events and Files."),
		k(2, "bcmgenet fd580000.ethernet eth0: Link is Up - 1Gbps/Full - flow control rx/tx"),
		s(1, "[  OK  ] Reached target network.target - Network."),
		s(1, "[  OK  ] Started ssh.service - OpenBSD Secure Shell server."),
		s(1, "[  OK  ] Started serial-getty@ttyS0.service - Serial Getty on ttyS0."),
	}
	if marker != "" {
		lines = append(lines, s(1, marker))
	}
	return append(lines,
		s(1, "[  OK  ] Reached target multi-user.target - Multi-User System."),
		bootLine{pause: 2, raw: true, text: issue(host)},
	)
}
