/*
 * insncount: a QEMU TCG plugin (plugin API version 1, as in QEMU 7.2,
 * Debian 12's qemu-user) that counts the guest instructions all threads
 * execute inside regions the guest program marks by calling functions
 * whose entry addresses are given as arguments:
 *
 *   start=0x...   begins a region
 *   stop=0x...    ends it
 *   split=0x...   ends a region and begins the next
 *   pause=0x...   stops counting until resume=0x... (optional)
 *   ignore=0x...  a function that, once a thread enters it, makes that
 *                 thread's instructions never count: the Go runtime's
 *                 sysmon, whose thread runs nothing else and wakes on
 *                 the host's clock (optional)
 *
 * At the end of each region it writes
 *   insncount: region <n> insns <count> threads <k> lost <m>
 * through qemu_plugin_outs, that is to QEMU's log (-d plugin -D file).
 *
 * It counts whole translation blocks as they are entered. QEMU ends a
 * block at every branch, so a block runs to its end unless the guest
 * faults inside it, which the counted Go code does not do. Conditional
 * instructions whose condition fails count, as they take a cycle on a
 * Cortex-A7 too.
 *
 * It uses no C library, so building it needs gcc alone: the few
 * declarations of the plugin API it uses are written out below.
 */
typedef unsigned long long u64;
typedef unsigned long size_t;
typedef u64 qemu_plugin_id_t;
struct qemu_plugin_tb;
struct qemu_info_t;

__attribute__((visibility("default"))) int qemu_plugin_version = 1;

typedef void (*tb_trans_cb)(qemu_plugin_id_t id, struct qemu_plugin_tb *tb);
typedef void (*vcpu_udata_cb)(unsigned int vcpu, void *udata);

void qemu_plugin_register_vcpu_tb_trans_cb(qemu_plugin_id_t id, tb_trans_cb cb);
void qemu_plugin_register_vcpu_tb_exec_cb(struct qemu_plugin_tb *tb, vcpu_udata_cb cb, int flags, void *udata);
size_t qemu_plugin_tb_n_insns(const struct qemu_plugin_tb *tb);
u64 qemu_plugin_tb_vaddr(const struct qemu_plugin_tb *tb);
void qemu_plugin_outs(const char *s);

#define CB_NO_REGS 0
#define MAX_VCPUS 4096

enum { START, STOP, SPLIT, PAUSE, RESUME, IGNORE, NMARKERS };
static const char *const names[NMARKERS] = {"start=", "stop=", "split=", "pause=", "resume=", "ignore="};
static u64 markers[NMARKERS];

static volatile int in_region, paused;
static u64 regions;
/* One counter per thread (QEMU vCPU), each written by its own thread
 * only; padded so that threads do not share a cache line. */
static struct {
	u64 n;
	int ignored;
	char pad[52];
} count[MAX_VCPUS];
/* Threads beyond MAX_VCPUS: reported, never silently dropped. */
static u64 lost;

static void on_block(unsigned int vcpu, void *udata)
{
	if (!in_region || paused)
		return;
	if (vcpu < MAX_VCPUS) {
		if (!count[vcpu].ignored)
			count[vcpu].n += (u64)(size_t)udata;
	} else
		__atomic_fetch_add(&lost, (u64)(size_t)udata, __ATOMIC_RELAXED);
}

static char *put_u64(char *p, u64 v)
{
	char tmp[24];
	int n = 0;
	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	while (n)
		*p++ = tmp[--n];
	return p;
}

static char *put_str(char *p, const char *s)
{
	while (*s)
		*p++ = *s++;
	return p;
}

static void reset(void)
{
	for (int i = 0; i < MAX_VCPUS; i++)
		count[i].n = 0; /* ignored stays: it is the thread's for good */
	lost = 0;
}

static void report(void)
{
	u64 total = 0, threads = 0;
	for (int i = 0; i < MAX_VCPUS; i++) {
		total += count[i].n;
		threads += count[i].n != 0;
	}
	char line[160], *p = line;
	p = put_str(p, "insncount: region ");
	p = put_u64(p, regions++);
	p = put_str(p, " insns ");
	p = put_u64(p, total);
	p = put_str(p, " threads ");
	p = put_u64(p, threads);
	p = put_str(p, " lost ");
	p = put_u64(p, lost);
	*p++ = '\n';
	*p = 0;
	qemu_plugin_outs(line);
}

static void on_marker(unsigned int vcpu, void *udata)
{
	switch ((int)(size_t)udata) {
	case IGNORE:
		if (vcpu < MAX_VCPUS)
			count[vcpu].ignored = 1;
		break;
	case START:
		reset();
		paused = 0;
		in_region = 1;
		break;
	case STOP:
		if (in_region)
			report();
		in_region = 0;
		break;
	case SPLIT:
		if (in_region)
			report();
		reset();
		in_region = 1;
		break;
	case PAUSE:
		paused = 1;
		break;
	case RESUME:
		paused = 0;
		break;
	}
}

static void on_translate(qemu_plugin_id_t id, struct qemu_plugin_tb *tb)
{
	(void)id;
	u64 pc = qemu_plugin_tb_vaddr(tb);
	for (int m = 0; m < NMARKERS; m++) {
		if (markers[m] != 0 && pc == markers[m]) {
			qemu_plugin_register_vcpu_tb_exec_cb(tb, on_marker, CB_NO_REGS, (void *)(size_t)m);
			return;
		}
	}
	size_t n = qemu_plugin_tb_n_insns(tb);
	qemu_plugin_register_vcpu_tb_exec_cb(tb, on_block, CB_NO_REGS, (void *)n);
}

/* parse_arg reads the hexadecimal address after name ("start=" …) and
 * "0x" in arg: 1 if it did, 0 if arg is not name's, -1 if malformed. */
static int parse_arg(const char *arg, const char *name, u64 *out)
{
	while (*name)
		if (*arg++ != *name++)
			return 0;
	if (arg[0] != '0' || (arg[1] != 'x' && arg[1] != 'X'))
		return -1;
	arg += 2;
	u64 v = 0;
	int digits = 0;
	for (; *arg; arg++, digits++) {
		char c = *arg;
		if (c >= '0' && c <= '9')
			v = v << 4 | (u64)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v = v << 4 | (u64)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			v = v << 4 | (u64)(c - 'A' + 10);
		else
			return -1;
	}
	if (digits == 0 || digits > 16 || v == 0)
		return -1;
	*out = v;
	return 1;
}

__attribute__((visibility("default"))) int qemu_plugin_install(qemu_plugin_id_t id, const struct qemu_info_t *info,
							       int argc, char **argv)
{
	(void)info;
	for (int i = 0; i < argc; i++) {
		int r = 0;
		for (int m = 0; m < NMARKERS && r == 0; m++)
			r = parse_arg(argv[i], names[m], &markers[m]);
		if (r <= 0) {
			qemu_plugin_outs("insncount: bad argument: want start=0x… stop=0x… [split=0x…] [pause=0x… resume=0x…] [ignore=0x…]\n");
			return -1;
		}
	}
	if (markers[START] == 0 || markers[STOP] == 0 || (markers[PAUSE] == 0) != (markers[RESUME] == 0)) {
		qemu_plugin_outs("insncount: want start=0x… stop=0x… [split=0x…] [pause=0x… resume=0x…]\n");
		return -1;
	}
	qemu_plugin_register_vcpu_tb_trans_cb(id, on_translate);
	return 0;
}
