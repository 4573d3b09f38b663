// SPDX-License-Identifier: GPL-2.0
/* Parses lockwatch's command line into struct env; --help and --version. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cmd/env.h"
#include "sink/sink.h"
#include "lockwatch.h"
#include "sys/log.h"

static const char usage[] =
	"Usage: lockwatch [watch] [OPTIONS] [-p PID [-p PID]...]\n"
	"       lockwatch [watch] [OPTIONS] -- COMMAND [ARGS...]\n"
	"       lockwatch check [--json] [--journal] [--syslog] [--log-file PATH]\n"
	"                       [--metrics-file PATH] [--on-alert CMD] [--dot] [--svg FILE]\n"
	"                       [-v] PID\n"
	"       lockwatch dump [--json] [-v] PID\n"
	"\n"
	"Watch processes (without -p: every process on the host) for deadlocks\n"
	"as they happen: threads waiting for each\n"
	"other on pthread mutexes (default, recursive, PI), self-deadlocks, with\n"
	"thread names, lock symbols and the stack of every blocked thread.\n"
	"Watched processes are never stopped, signalled or written to.\n"
	"\n"
	"`check` looks once at a process that may already be hung (threads that\n"
	"blocked before lockwatch started), follows locks it shares with other\n"
	"processes, prints the verdict and exits; it needs no BPF. `dump` prints\n"
	"every thread and task of a process the same way: its stack (native and\n"
	"Python), what it waits for and who holds that, what it holds, and the\n"
	"asyncio tasks as a tree of who awaits whom.\n"
	"\n"
	"Options:\n"
	"  -p, --pid PID            watch this process (repeat for more)\n"
	"  -j, --json               JSON lines on stdout (schema 1), one per alert\n"
	"                           and a last one of kind \"summary\"\n"
	"      --journal            also send each alert to journald, a structured\n"
	"                           entry (MESSAGE_ID by kind: journalctl -x explains)\n"
	"      --syslog[=SOCKET]    also send each alert to the system logger (its\n"
	"                           socket, default /dev/log) as an RFC 5424 message\n"
	"                           with structured data\n"
	"      --log-file PATH      also append each alert to PATH as a JSON line (the\n"
	"                           same alert within a minute only counted); SIGHUP\n"
	"                           opens PATH again (logrotate)\n"
	"      --metrics-file PATH  keep lockwatch's counters in PATH, Prometheus text\n"
	"                           (node_exporter's textfile collector), replaced\n"
	"                           whole every second\n"
	"      --on-alert CMD       run sh -c CMD for each deadlock-class alert, its JSON\n"
	"                           line on stdin, LOCKWATCH_KIND, LOCKWATCH_PID(S) set\n"
	"                           (at most 4 at once, 60 s each)\n"
	"      --dot                check: the wait-for graph in Graphviz DOT on stdout\n"
	"                           (the cycles in red, stacks as tooltips) instead of\n"
	"                           the report\n"
	"      --svg FILE           check: the same graph rendered into FILE (SVG)\n"
	"  -d, --duration SEC       stop after SEC seconds (default: until stopped)\n"
	"      --exit-on-deadlock   stop at the first deadlock reported\n"
	"  -w, --wait-threshold SEC report waits on a lock longer than SEC\n"
	"                           (long_wait; default 30, 0: never)\n"
	"      --error-exitcode N   exit with N instead of 1 when a deadlock was\n"
	"                           reported (with -- COMMAND)\n"
	"      --btf FILE           kernel BTF to use instead of /sys/kernel/btf/vmlinux\n"
	"      --ringbuf-size BYTES ring buffer size, a power of two (default 262144;\n"
	"                           4 MiB with --lock-order)\n"
	"      --sysfs              publish the graph to the kernel module's\n"
	"                           /sys/kernel/lockwatch (default when it is loaded)\n"
	"      --no-sysfs           write the same files under /run/lockwatch instead\n"
	"      --lock-order         also probe the lock and unlock calls of the watched\n"
	"                           processes (-p, -- COMMAND): lock-order inversions\n"
	"                           (lock_order: exit 1 like a deadlock), long holds,\n"
	"                           locks held by a thread that exits, rwlock readers\n"
	"      --hold-threshold SEC report a lock held longer than SEC, waited for or not\n"
	"                           (long_hold; default 30, 0: never): a Python lock of\n"
	"                           a watched process; with --lock-order, any lock\n"
	"      --stall-threshold SEC\n"
	"                           report an asyncio event loop of a Python process\n"
	"                           that has run one callback (a coroutine's step) for\n"
	"                           SEC without going back to its selector (loop_stall;\n"
	"                           default 1, 0: never); check samples such a loop\n"
	"                           until it goes on or stalls that long\n"
	"      --lock-fn [BINARY:]ACQUIRE,RELEASE[,TRY][@ARG]\n"
	"                           with --lock-order: the program's own lock functions,\n"
	"                           the lock's address their argument ARG (1-6, default\n"
	"                           1); TRY returns 0 when it took the lock (repeat for more)\n"
	"  -v, --verbose            diagnostics, libbpf messages\n"
	"  -h, --help               this text\n"
	"  -V, --version            version\n"
	"\n"
	"Exit status:\n"
	"  0  no deadlock reported\n"
	"  1  a deadlock (or a lock whose owner exited) was reported\n"
	"  2  usage error\n"
	"  3  target not found or not inspectable (no such PID, zombie, kernel thread)\n"
	"  4  environment: not root or missing capability, no BPF, no BTF, no tracefs\n"
	"  5  internal error\n"
	"  With -- COMMAND, the command's own status passes through unless a deadlock\n"
	"  was reported.\n"
	"\n"
	"EXAMPLES:\n"
	"  lockwatch check 4242              is pid 4242 deadlocked right now?\n"
	"  lockwatch -p 4242                 watch pid 4242 until Ctrl-C\n"
	"  lockwatch --json                  watch the whole host\n"
	"  lockwatch -p 4242 -p 4243 --json  two processes, JSON lines\n"
	"  lockwatch --exit-on-deadlock -- ./server --port 8080\n"
	"                                    run a program, stop at its first deadlock\n"
	"  lockwatch --duration 60 --json -p $(pidof bank) | jq .summary\n"
	"  lockwatch --journal               the whole host, alerts into the journal too\n"
	"  lockwatch --metrics-file /var/lib/prometheus/node-exporter/lockwatch.prom\n"
	"                                    the whole host, its counters for Prometheus\n"
	"  lockwatch -p 4242 --on-alert 'gcore -o /var/tmp/core $LOCKWATCH_PID'\n"
	"                                    a core of it when it deadlocks\n"
	"  lockwatch check $(pgrep -f app.py)  a hung asyncio app: tasks, locks, stacks\n"
	"  lockwatch dump $(pgrep -f app.py)   every thread and task of it, hung or not\n"
	"  lockwatch check --dot 4242 | dot -Tsvg > hang.svg\n"
	"                                    a picture of who waits for whom\n"
	"  lockwatch --lock-order -- make test  fail a test run on a lock-order inversion\n"
	"  lockwatch --lock-order --lock-fn spin_lock,spin_unlock -p $(pidof server)\n"
	"                                    a program's own locks too\n"
	"\n"
	"See lockwatch(8).\n";

enum {
	OPT_EXIT_ON_DEADLOCK = 256,
	OPT_ERROR_EXITCODE,
	OPT_BTF,
	OPT_RINGBUF_SIZE,
	OPT_SYSFS,
	OPT_NO_SYSFS,
	OPT_LOCK_ORDER,
	OPT_HOLD_THRESHOLD,
	OPT_STALL_THRESHOLD,
	OPT_LOCK_FN,
	OPT_JOURNAL,
	OPT_SYSLOG,
	OPT_LOG_FILE,
	OPT_METRICS_FILE,
	OPT_ON_ALERT,
	OPT_DOT,
	OPT_SVG,
};

static int parse_seconds(const char *s, double *out)
{
	char *end;

	errno = 0;
	*out = strtod(s, &end);
	if (errno || end == s || *end || !(*out >= 0) || *out > 1e9)
		return -EINVAL;
	return 0;
}

static const struct option options[] = {
	{ "pid", required_argument, NULL, 'p' },
	{ "json", no_argument, NULL, 'j' },
	{ "journal", no_argument, NULL, OPT_JOURNAL },
	{ "syslog", optional_argument, NULL, OPT_SYSLOG },
	{ "log-file", required_argument, NULL, OPT_LOG_FILE },
	{ "metrics-file", required_argument, NULL, OPT_METRICS_FILE },
	{ "on-alert", required_argument, NULL, OPT_ON_ALERT },
	{ "dot", no_argument, NULL, OPT_DOT },
	{ "svg", required_argument, NULL, OPT_SVG },
	{ "duration", required_argument, NULL, 'd' },
	{ "wait-threshold", required_argument, NULL, 'w' },
	{ "exit-on-deadlock", no_argument, NULL, OPT_EXIT_ON_DEADLOCK },
	{ "error-exitcode", required_argument, NULL, OPT_ERROR_EXITCODE },
	{ "btf", required_argument, NULL, OPT_BTF },
	{ "ringbuf-size", required_argument, NULL, OPT_RINGBUF_SIZE },
	{ "sysfs", no_argument, NULL, OPT_SYSFS },
	{ "no-sysfs", no_argument, NULL, OPT_NO_SYSFS },
	{ "lock-order", no_argument, NULL, OPT_LOCK_ORDER },
	{ "hold-threshold", required_argument, NULL, OPT_HOLD_THRESHOLD },
	{ "stall-threshold", required_argument, NULL, OPT_STALL_THRESHOLD },
	{ "lock-fn", required_argument, NULL, OPT_LOCK_FN },
	{ "verbose", no_argument, NULL, 'v' },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'V' },
	{},
};

static int parse_long(const char *s, long min, long max, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < min || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

/* "[BINARY:]ACQUIRE,RELEASE[,TRY][@ARG]": names as symbols are spelled (no
 * ':', ',' or '@' in them); BINARY a path or a mapped file's name; ARG the
 * argument that is the lock (1-6, default 1). */
static int parse_lock_fn(const char *arg, struct lw_lock_fn *f)
{
	const char *colon = strrchr(arg, ':'), *names = colon ? colon + 1 : arg;
	char copy[512], *at, *part[4] = { 0 };
	int n = 0;

	memset(f, 0, sizeof(*f));
	f->arg = 1;
	if (colon) {
		if (colon == arg || (size_t)(colon - arg) >= sizeof(f->binary))
			return -EINVAL;
		snprintf(f->binary, sizeof(f->binary), "%.*s", (int)(colon - arg), arg);
	}
	if (strlen(names) >= sizeof(copy))
		return -EINVAL;
	strcpy(copy, names);
	at = strchr(copy, '@');
	if (at) {
		if (at[1] < '1' || at[1] > '6' || at[2])
			return -EINVAL;
		f->arg = at[1] - '0';
		*at = '\0';
	}
	if (strpbrk(copy, " \t"))
		return -EINVAL;
	/* fields as given: "a,,b" is not "a,b" */
	for (char *p = copy; p && n < 4; n++) {
		part[n] = p;
		p = strchr(p, ',');
		if (p)
			*p++ = '\0';
	}
	if (n < 2 || n > 3)
		return -EINVAL;
	for (int i = 0; i < n; i++)
		if (!part[i][0] || strlen(part[i]) >= sizeof(f->acquire))
			return -EINVAL;
	strcpy(f->acquire, part[0]);
	strcpy(f->release, part[1]);
	if (n == 3)
		strcpy(f->try, part[2]);
	return 0;
}

static int bad(const char *what, const char *arg)
{
	lw_err("invalid %s: '%s' (see lockwatch --help)", what, arg);
	return LW_EXIT_USAGE;
}

int env__parse(struct env *env, int argc, char **argv, int *exit_status)
{
	long v;
	int c, check;

	*exit_status = LW_EXIT_OK;
	memset(env, 0, sizeof(*env));
	env->ringbuf_size = 0; /* the default, once --lock-order is known */
	env->wait_threshold = 30;
	env->hold_threshold = 30;
	env->stall_threshold = 1;
	env->sysfs = -1;
	env->command = "watch";
	if (argc > 1 &&
	    (!strcmp(argv[1], "check") || !strcmp(argv[1], "dump") || !strcmp(argv[1], "watch"))) {
		env->command = argv[1];
		argv++;
		argc--;
	}
	/* `check` and `dump` take one PID */
	check = !strcmp(env->command, "check") || !strcmp(env->command, "dump");
	opterr = 0;
	/* '+': options stop at the first non-option, so COMMAND keeps its own;
	 * `check PID --json` may put them after the PID */
	while ((c = getopt_long(argc, argv, check ? "p:jd:w:vhV" : "+p:jd:w:vhV", options, NULL)) !=
	       -1) {
		switch (c) {
		case 'p':
			if (parse_long(optarg, 1, INT_MAX, &v))
				return *exit_status = bad("PID", optarg);
			if (env->npids == LW_MAX_PIDS) {
				lw_err("too many -p (at most %d)", LW_MAX_PIDS);
				return *exit_status = LW_EXIT_USAGE;
			}
			env->pids[env->npids++] = v;
			break;
		case 'j':
			env->json = 1;
			break;
		case OPT_JOURNAL:
			env->journal = 1;
			break;
		case OPT_SYSLOG:
			env->syslog = optarg && *optarg ? optarg : LW_SYSLOG_SOCKET;
			break;
		case OPT_LOG_FILE:
			env->log_file = optarg;
			break;
		case OPT_METRICS_FILE:
			env->metrics_file = optarg;
			break;
		case OPT_ON_ALERT:
			env->on_alert = optarg;
			break;
		case OPT_DOT:
			env->dot = 1;
			break;
		case OPT_SVG:
			env->svg = optarg;
			break;
		case 'd':
			if (parse_seconds(optarg, &env->duration) || !env->duration)
				return *exit_status = bad("duration", optarg);
			break;
		case 'w':
			if (parse_seconds(optarg, &env->wait_threshold))
				return *exit_status = bad("wait threshold", optarg);
			break;
		case OPT_EXIT_ON_DEADLOCK:
			env->exit_on_deadlock = 1;
			break;
		case OPT_ERROR_EXITCODE:
			if (parse_long(optarg, 1, 255, &v))
				return *exit_status = bad("exit code", optarg);
			env->error_exitcode = v;
			break;
		case OPT_BTF:
			env->btf = optarg;
			break;
		case OPT_RINGBUF_SIZE:
			if (parse_long(optarg, 4096, 1L << 30, &v) || (v & (v - 1)))
				return *exit_status = bad(
					       "ring buffer size (a power of two >= 4096)", optarg);
			env->ringbuf_size = v;
			break;
		case OPT_SYSFS:
			env->sysfs = 1;
			break;
		case OPT_LOCK_ORDER:
			env->lock_order = 1;
			break;
		case OPT_HOLD_THRESHOLD:
			if (parse_seconds(optarg, &env->hold_threshold))
				return *exit_status = bad("hold threshold", optarg);
			break;
		case OPT_STALL_THRESHOLD:
			if (parse_seconds(optarg, &env->stall_threshold))
				return *exit_status = bad("stall threshold", optarg);
			break;
		case OPT_LOCK_FN:
			if (env->nlock_fns == LW_LOCK_FNS_MAX) {
				lw_err("too many --lock-fn (at most %d)", LW_LOCK_FNS_MAX);
				return *exit_status = LW_EXIT_USAGE;
			}
			if (parse_lock_fn(optarg, &env->lock_fns[env->nlock_fns++]))
				return *exit_status = bad(
					       "--lock-fn (want [BINARY:]ACQUIRE,RELEASE[,TRY][@ARG])",
					       optarg);
			break;
		case OPT_NO_SYSFS:
			env->sysfs = 0;
			break;
		case 'v':
			env->verbose = 1;
			break;
		case 'h':
			fputs(usage, stdout);
			return 1;
		case 'V':
			printf("lockwatch %s\n", LW_VERSION);
			return 1;
		case '?':
		default:
			if (optopt && optopt < 256 && strchr("pdw", optopt))
				lw_err("option -%c needs an argument (see lockwatch --help)",
				       optopt);
			else
				lw_err("unknown option '%s' (see lockwatch --help)",
				       argv[optind - 1]);
			return *exit_status = LW_EXIT_USAGE;
		}
	}
	if ((env->dot || env->svg) && strcmp(env->command, "check")) {
		lw_err("--dot and --svg are for lockwatch check");
		return *exit_status = LW_EXIT_USAGE;
	}
	if (check) {
		if (env->npids || env->cmd || optind != argc - 1 ||
		    parse_long(argv[optind], 1, INT_MAX, &v)) {
			lw_err("%s takes one PID: lockwatch %s [--json] PID", env->command,
			       env->command);
			return *exit_status = LW_EXIT_USAGE;
		}
		env->pids[env->npids++] = v;
		return 0;
	}
	if (optind < argc) {
		/* getopt leaves "--" consumed; anything left is the command */
		env->cmd = &argv[optind];
	}
	env->host = !env->npids && !env->cmd;
	if (env->npids && env->cmd) {
		lw_err("give either -p PID or -- COMMAND, not both");
		return *exit_status = LW_EXIT_USAGE;
	}
	if (env->lock_order && env->host) {
		lw_err("--lock-order probes the processes it is given: use it with -p PID or -- COMMAND");
		return *exit_status = LW_EXIT_USAGE;
	}
	if (env->nlock_fns && !env->lock_order) {
		lw_err("--lock-fn goes with --lock-order");
		return *exit_status = LW_EXIT_USAGE;
	}
	if (!env->ringbuf_size)
		env->ringbuf_size = env->lock_order ? LW_RINGBUF_ORDERS : LW_RINGBUF_DEFAULT;
	return 0;
}
