// SPDX-License-Identifier: GPL-2.0
/*
 * CPython objects read from another process (see pymem.h). Kinds of objects
 * are told by their type's name, cached per type address: a static type's
 * tp_name ("_asyncio.Task"), or a class's name and `__module__`
 * ("Lock" in "asyncio.locks"), following tp_base so subclasses count too.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "sys/clock.h"
#include "sys/proc.h"
#include "source/python/pymem.h"

#define TYPE_CACHE 256
#define KIND_DEPTH 2 /* type_kind() inside type_kind(): see there */
#define CODE_CACHE 256
#define TPFLAGS_HEAPTYPE (1ul << 9)
#define DICT_MAX_ENTRIES (1 << 20)
#define BYTES_MAX (256 * 1024)
#define PAGE_SIZE 4096ull
#define CACHE_PAGES 1024 /* 4 MiB, held only while one look lasts */
/* Reads of the process one look may make (1 GiB; 262,144 tasks take about
 * 160,000): beyond, it sees nothing more. A process that hides its locks
 * behind dicts of a million entries, scanned once per lock, would take
 * minutes a look - and lockwatch from everyone else. */
#define LOOK_READS (256 * 1024)

/* A page of the process as it was when first read in this look. */
struct page {
	uint64_t addr;
	uint64_t gen; /* == lw_pymem.gen: read in this look */
	uint8_t data[PAGE_SIZE];
};

struct type_kind {
	uint64_t type;
	enum lw_pykind kind;
};

struct lw_pymem {
	pid_t pid;
	const struct lw_pylayout *L; /* &layout */
	struct lw_pylayout layout;
	uint64_t runtime;
	uint32_t hexversion;
	uint64_t reads;
	uint64_t left; /* reads this look may still make */
	int cut; /* ... and it wanted more */
	uint64_t deadline_ns; /* no reads past it (the run's end); 0: none */
	struct type_kind types[TYPE_CACHE];
	int ntypes;
	int kinding; /* type_kind() calls under way, one inside another */
	struct lw_pycode *codes[CODE_CACHE];
	int ncodes;
	struct page *pages; /* direct-mapped by address; NULL: none yet */
	uint64_t gen;
};

struct lw_pymem *pymem__new(pid_t pid, const struct lw_pylayout *L, uint64_t runtime,
			    uint32_t hexversion)
{
	struct lw_pymem *m = calloc(1, sizeof(*m));

	if (!m)
		return NULL;
	m->pid = pid;
	m->layout = *L;
	m->L = &m->layout;
	m->runtime = runtime;
	m->hexversion = hexversion;
	m->left = LOOK_READS;
	return m;
}

void pymem__reset(struct lw_pymem *m)
{
	for (int i = 0; i < m->ncodes; i++) {
		free(m->codes[i]->linetable);
		free(m->codes[i]->exctable);
		free(m->codes[i]);
	}
	m->ncodes = 0;
	m->ntypes = 0;
	m->gen++;
	m->left = LOOK_READS;
	m->cut = 0;
}

void pymem__trim(struct lw_pymem *m)
{
	free(m->pages);
	m->pages = NULL;
}

void pymem__free(struct lw_pymem *m)
{
	if (!m)
		return;
	pymem__reset(m);
	pymem__trim(m);
	free(m);
}

pid_t pymem__pid(const struct lw_pymem *m)
{
	return m->pid;
}

const struct lw_pylayout *pymem__layout(const struct lw_pymem *m)
{
	return m->L;
}

uint64_t pymem__runtime(const struct lw_pymem *m)
{
	return m->runtime;
}

int pymem__lock_sem(const struct lw_pymem *m, enum lw_pykind k)
{
	if (!m->L->lock_lock || (k != PK_TLOCK && k != PK_RLOCK))
		return 0;
	if (k == PK_RLOCK)
		return !m->L->rlock_parked;
	return !m->L->lock_parked &&
	       (!m->L->lock_sem_max || (m->hexversion && m->hexversion <= m->L->lock_sem_max));
}

uint64_t pymem__reads(const struct lw_pymem *m)
{
	return m->reads;
}

int pymem__cut(const struct lw_pymem *m)
{
	return m->cut;
}

void pymem__deadline(struct lw_pymem *m, uint64_t ns)
{
	m->deadline_ns = ns;
}

/* One read of len bytes at addr from the process, if the look has one left. */
static int read_process(struct lw_pymem *m, uint64_t addr, void *buf, size_t len)
{
	/* a look of 262,144 reads takes seconds: it must not carry lockwatch
	 * past the end of its run */
	if (m->deadline_ns && !(m->reads % 256) && lw_now_ns() >= m->deadline_ns)
		m->left = 0;
	if (!m->left) {
		m->cut = 1;
		return -E2BIG;
	}
	m->left--;
	m->reads++;
	return lw_proc_read(m->pid, addr, buf, len);
}

/* The page at addr (page-aligned) as this look first read it. */
static const uint8_t *page(struct lw_pymem *m, uint64_t addr)
{
	struct page *p;
	int err;

	if (!m->pages) {
		m->pages = calloc(CACHE_PAGES, sizeof(*m->pages));
		if (!m->pages)
			return NULL;
	}
	p = &m->pages[(addr / PAGE_SIZE) % CACHE_PAGES];
	if (p->addr == addr && p->gen == m->gen + 1)
		return p->data;
	err = read_process(m, addr, p->data, PAGE_SIZE);
	p->addr = addr;
	p->gen = err ? 0 : m->gen + 1;
	return err ? NULL : p->data;
}

/*
 * Objects of one look are read through a cache of whole pages: ten thousand
 * tasks and their coroutines sit on a few thousand pages, so one read serves
 * many objects, and objects on one page are seen at one instant.
 */
int pymem__read(struct lw_pymem *m, uint64_t addr, void *buf, size_t len)
{
	uint8_t *out = buf;

	if (!addr || addr < 4096 || addr + len < addr)
		return -EFAULT;
	if (len > PAGE_SIZE)
		return read_process(m, addr, buf, len);
	while (len) {
		uint64_t base = addr & ~(PAGE_SIZE - 1), off = addr - base;
		size_t n = PAGE_SIZE - off < len ? PAGE_SIZE - off : len;
		const uint8_t *p = page(m, base);

		if (!p)
			return -EFAULT;
		memcpy(out, p + off, n);
		out += n;
		addr += n;
		len -= n;
	}
	return 0;
}

int pymem__read_now(struct lw_pymem *m, uint64_t addr, void *buf, size_t len)
{
	if (!addr || addr < 4096 || addr + len < addr)
		return -EFAULT;
	m->reads++; /* a few words a turn, outside any look's reads */
	return lw_proc_read(m->pid, addr, buf, len);
}

uint64_t pymem__ptr(struct lw_pymem *m, uint64_t addr)
{
	uint64_t v;

	return pymem__read(m, addr, &v, sizeof(v)) ? 0 : v;
}

uint64_t pymem__ref(struct lw_pymem *m, uint64_t addr)
{
	return pymem__ptr(m, addr) & ~(uint64_t)m->L->stackref_tag;
}

uint64_t pymem__unref(const struct lw_pymem *m, uint64_t ref)
{
	return ref & ~(uint64_t)m->L->stackref_tag;
}

int pymem__asyncio(struct lw_pymem *m, const uint64_t *words, char *why, size_t len)
{
	return pylayout__asyncio(&m->layout, words, why, len);
}

static int cstr(struct lw_pymem *m, uint64_t addr, char *buf, size_t len)
{
	/* a C string near the end of a mapping: read less, then less */
	for (size_t n = len - 1; n >= 1; n /= 2) {
		if (!pymem__read(m, addr, buf, n)) {
			buf[n] = '\0';
			buf[strnlen(buf, n)] = '\0';
			return 0;
		}
	}
	buf[0] = '\0';
	return -1;
}

struct kind_name {
	const char *module; /* NULL: a static type, name is its tp_name */
	const char *name;
	enum lw_pykind kind;
};

static const struct kind_name kind_names[] = {
	{ NULL, "str", PK_STR },
	{ NULL, "int", PK_INT },
	{ NULL, "bool", PK_INT },
	{ NULL, "dict", PK_DICT },
	{ NULL, "set", PK_SET },
	{ NULL, "list", PK_LIST },
	{ NULL, "code", PK_CODE },
	{ NULL, "coroutine", PK_CORO },
	{ NULL, "generator", PK_CORO },
	{ NULL, "method", PK_METHOD },
	{ NULL, "builtin_function_or_method", PK_CFUNC },
	{ NULL, "function", PK_FUNC },
	{ NULL, "method_descriptor", PK_MDESCR },
	{ NULL, "weakref.ReferenceType", PK_WEAKREF },
	{ NULL, "weakref", PK_WEAKREF },
	{ NULL, "_asyncio.Task", PK_TASK },
	{ NULL, "_thread.lock", PK_TLOCK },
	{ NULL, "_thread.RLock", PK_RLOCK },
	{ "asyncio.tasks", "_GatheringFuture", PK_GATHER },
	{ "asyncio.locks", "Lock", PK_ALOCK },
	{ "asyncio.locks", "Semaphore", PK_ASEM },
	{ "asyncio.locks", "BoundedSemaphore", PK_ASEM },
	{ "asyncio.locks", "Condition", PK_ACOND },
	{ "asyncio.locks", "Event", PK_AEVENT },
	{ "asyncio.queues", "Queue", PK_AQUEUE },
	{ "asyncio.queues", "PriorityQueue", PK_AQUEUE },
	{ "asyncio.queues", "LifoQueue", PK_AQUEUE },
};

/* The kind of one type, not looking at its bases. */
static enum lw_pykind own_kind(struct lw_pymem *m, uint64_t type)
{
	const struct lw_pylayout *L = m->L;
	char name[64], module[64] = "";
	uint64_t flags;
	int heap;

	if (pymem__read(m, type + L->tp_flags, &flags, sizeof(flags)) ||
	    cstr(m, pymem__ptr(m, type + L->tp_name), name, sizeof(name)))
		return PK_BAD;
	heap = !!(flags & TPFLAGS_HEAPTYPE);
	if (heap && !strchr(name, '.') &&
	    pymem__str(m, pymem__dict_get(m, pymem__ptr(m, type + L->tp_dict), "__module__"),
		       module, sizeof(module)))
		return PK_OTHER;
	for (size_t i = 0; i < sizeof(kind_names) / sizeof(kind_names[0]); i++) {
		const struct kind_name *k = &kind_names[i];

		/* extension types made from a spec are heap types named
		 * "module.name": "_thread.lock" since 3.10 */
		if (!strcmp(k->name, name) &&
		    (k->module ? heap && !strcmp(k->module, module) : !heap || strchr(name, '.')))
			return k->kind;
	}
	return PK_OTHER;
}

static enum lw_pykind type_kind(struct lw_pymem *m, uint64_t type)
{
	enum lw_pykind k = PK_OTHER;
	uint64_t t = type;

	for (int i = 0; i < m->ntypes; i++)
		if (m->types[i].type == type)
			return m->types[i].kind;
	/* A heap type's module is read from its dict, whose keys' kinds are
	 * read in turn. They are str, a static type, so one level is enough;
	 * a type whose dict holds a key of its own type (or of another such
	 * type, and so on) would recurse without end. */
	if (m->kinding >= KIND_DEPTH)
		return PK_BAD;
	m->kinding++;
	/* a subclass is its nearest known base: class MyLock(asyncio.Lock) */
	for (int depth = 0; t && depth < 8 && k == PK_OTHER; depth++) {
		k = own_kind(m, t);
		t = pymem__ptr(m, t + m->L->tp_base);
	}
	m->kinding--;
	/* a bad one too: the look reads the same memory each time it asks
	 * (a forged type would otherwise be read anew for each of its keys) */
	if (m->ntypes < TYPE_CACHE)
		m->types[m->ntypes++] = (struct type_kind){ type, k };
	return k;
}

enum lw_pykind pymem__kind(struct lw_pymem *m, uint64_t obj)
{
	uint64_t type;

	if (!obj || obj & 7)
		return PK_BAD;
	type = pymem__ptr(m, obj + m->L->ob_type);
	if (!type || type & 7)
		return PK_BAD;
	return type_kind(m, type);
}

void pymem__type_name(struct lw_pymem *m, uint64_t obj, char *buf, size_t len)
{
	uint64_t type = pymem__ptr(m, obj + m->L->ob_type);

	if (!type || cstr(m, pymem__ptr(m, type + m->L->tp_name), buf, len))
		buf[0] = '\0';
}

/* One code point as UTF-8 into buf (room for 4 bytes); how many bytes. */
static int utf8(uint32_t c, char *buf)
{
	if (c < 0x80) {
		buf[0] = c;
		return 1;
	}
	if (c < 0x800) {
		buf[0] = 0xc0 | c >> 6;
		buf[1] = 0x80 | (c & 0x3f);
		return 2;
	}
	if (c < 0x10000) {
		buf[0] = 0xe0 | c >> 12;
		buf[1] = 0x80 | (c >> 6 & 0x3f);
		buf[2] = 0x80 | (c & 0x3f);
		return 3;
	}
	buf[0] = 0xf0 | (c >> 18 & 0x07);
	buf[1] = 0x80 | (c >> 12 & 0x3f);
	buf[2] = 0x80 | (c >> 6 & 0x3f);
	buf[3] = 0x80 | (c & 0x3f);
	return 4;
}

int pymem__str(struct lw_pymem *m, uint64_t obj, char *buf, size_t len)
{
	const struct lw_pylayout *L = m->L;
	uint8_t raw[1024];
	uint32_t state;
	int64_t n;
	int kind, ascii, compact;
	size_t out = 0;

	buf[0] = '\0';
	if (pymem__kind(m, obj) != PK_STR || pymem__read(m, obj + L->var_size, &n, sizeof(n)) ||
	    pymem__read(m, obj + L->str_state, &state, sizeof(state)) || n < 0)
		return -1;
	kind = state >> 2 & 7;
	compact = state >> 5 & 1;
	ascii = state >> 6 & 1;
	if (!compact || (kind != 1 && kind != 2 && kind != 4))
		return -1; /* a legacy string: not made by any code we name */
	if (n > (int64_t)(sizeof(raw) / kind))
		n = sizeof(raw) / kind;
	if (n &&
	    pymem__read(m, obj + (ascii ? L->str_ascii_data : L->str_compact_data), raw, n * kind))
		return -1;
	for (int64_t i = 0; i < n && out + 5 < len; i++) {
		uint32_t c = kind == 1 ? raw[i] :
			     kind == 2 ? ((uint16_t *)raw)[i] :
					 ((uint32_t *)raw)[i];

		out += utf8(c, buf + out);
	}
	buf[out] = '\0';
	return 0;
}

int pymem__int(struct lw_pymem *m, uint64_t obj, int64_t *v)
{
	uint32_t digits[3] = { 0 };
	uint64_t u = 0;
	int64_t size;
	int n;

	if (pymem__kind(m, obj) != PK_INT ||
	    pymem__read(m, obj + m->L->var_size, &size, sizeof(size)))
		return -1;
	if (m->L->long_tagged) /* lv_tag: digits << 3 | sign (0 +, 1 zero, 2 -) */
		size = (size & 3) == 2 ? -(size >> 3) : size >> 3;
	n = size < 0 ? -size : size;
	if (n > 3 || (n && pymem__read(m, obj + m->L->long_digits, digits, n * sizeof(digits[0]))))
		return -1;
	for (int i = n - 1; i >= 0; i--)
		u = u << 30 | (digits[i] & 0x3fffffff);
	*v = size < 0 ? -(int64_t)u : (int64_t)u;
	return 0;
}

/* The entries of a dict's keys object, with values from `values` when the
 * dict is split (instance attributes share their class's keys). */
static int keys_items(struct lw_pymem *m, uint64_t keys, uint64_t values, lw_pypair_fn fn,
		      void *arg)
{
	const struct lw_pylayout *L = m->L;
	uint8_t log2_index_bytes, kind;
	uint64_t entries, buf[3 * 64];
	int64_t n;
	int esize, ret;

	if (!keys || pymem__read(m, keys + L->dk_log2_index_bytes, &log2_index_bytes, 1) ||
	    pymem__read(m, keys + L->dk_kind, &kind, 1) ||
	    pymem__read(m, keys + L->dk_nentries, &n, sizeof(n)) || n < 0 || n > DICT_MAX_ENTRIES ||
	    log2_index_bytes > 40)
		return -1;
	esize = kind == 0 ? 3 : 2; /* DICT_KEYS_GENERAL: hash, key, value */
	entries = keys + L->dk_indices + (1ull << log2_index_bytes);
	for (int64_t i = 0; i < n; i += 64) {
		int k = n - i < 64 ? n - i : 64;
		uint64_t vals[64];

		if (pymem__read(m, entries + i * esize * 8, buf, k * esize * 8))
			return -1;
		if (values && pymem__read(m, values + L->values_array + i * 8, vals, k * 8))
			return -1;
		for (int j = 0; j < k; j++) {
			uint64_t key = buf[j * esize + esize - 2];
			uint64_t val = values ? vals[j] : buf[j * esize + esize - 1];
			if (!key || !val)
				continue;
			ret = fn(m, key, val, arg);
			if (ret)
				return ret;
		}
	}
	return 0;
}

int pymem__dict_pairs(struct lw_pymem *m, uint64_t dict, lw_pypair_fn fn, void *arg)
{
	if (pymem__kind(m, dict) != PK_DICT)
		return -1;
	return keys_items(m, pymem__ptr(m, dict + m->L->dict_keys),
			  pymem__ptr(m, dict + m->L->dict_values), fn, arg);
}

struct by_name {
	lw_pyitem_fn fn;
	void *arg;
};

static int str_key(struct lw_pymem *m, uint64_t key, uint64_t value, void *arg)
{
	struct by_name *b = arg;
	char name[128];

	return pymem__str(m, key, name, sizeof(name)) ? 0 : b->fn(m, name, value, b->arg);
}

int pymem__dict_items(struct lw_pymem *m, uint64_t dict, lw_pyitem_fn fn, void *arg)
{
	struct by_name b = { fn, arg };

	return pymem__dict_pairs(m, dict, str_key, &b);
}

int pymem__attr_items(struct lw_pymem *m, uint64_t obj, lw_pyitem_fn fn, void *arg)
{
	const struct lw_pylayout *L = m->L;
	uint64_t type = pymem__ptr(m, obj + L->ob_type), flags, values, dict = 0;
	int64_t off;

	if (!type || pymem__read(m, type + L->tp_flags, &flags, sizeof(flags)))
		return -1;
	if (flags & L->tpflags_managed_dict) {
		struct by_name b = { fn, arg };

		if (L->managed == LW_PY_MANAGED_INLINE) {
			/* a dict once one was made; else the values after the
			 * object's basic size, when still valid */
			uint64_t size = 0;
			uint8_t valid = 0;

			dict = pymem__ptr(m, obj + L->managed_dict * 8);
			values = 0;
			if (!dict && flags & L->tpflags_inline_values &&
			    !pymem__read(m, type + L->tp_basicsize, &size, sizeof(size)) &&
			    size >= 16 && size < 4096 &&
			    !pymem__read(m, obj + size + L->values_valid, &valid, 1) && valid)
				values = obj + size;
		} else if (L->managed == LW_PY_MANAGED_TAGGED) {
			/* one word: the values minus 1 (so odd), or the dict */
			dict = pymem__ptr(m, obj + L->managed_dict * 8);
			values = dict & 1 ? dict + 1 : 0;
			dict = dict & 1 ? 0 : dict;
		} else {
			values = pymem__ptr(m, obj + L->managed_values * 8);
			dict = values ? 0 : pymem__ptr(m, obj + L->managed_dict * 8);
		}
		if (values)
			return keys_items(m, pymem__ptr(m, type + L->ht_cached_keys), values,
					  str_key, &b);
	} else if (!pymem__read(m, type + L->tp_dictoffset, &off, sizeof(off)) && off > 0 &&
		   off < 4096) {
		dict = pymem__ptr(m, obj + off);
	}
	return dict ? pymem__dict_items(m, dict, fn, arg) : -1;
}

struct lookup {
	const char *key;
	uint64_t value;
};

static int match(struct lw_pymem *m, const char *key, uint64_t value, void *arg)
{
	struct lookup *l = arg;

	if (strcmp(key, l->key))
		return 0;
	l->value = value;
	return 1;
}

uint64_t pymem__dict_get(struct lw_pymem *m, uint64_t dict, const char *key)
{
	struct lookup l = { key, 0 };

	return pymem__dict_items(m, dict, match, &l) == 1 ? l.value : 0;
}

uint64_t pymem__attr(struct lw_pymem *m, uint64_t obj, const char *name)
{
	struct lookup l = { name, 0 };

	return pymem__attr_items(m, obj, match, &l) == 1 ? l.value : 0;
}

uint64_t pymem__slot(struct lw_pymem *m, uint64_t obj, const char *name)
{
	const struct lw_pylayout *L = m->L;
	uint64_t type = pymem__ptr(m, obj + L->ob_type);
	char kind[24];
	int64_t off;

	/* the member descriptor in the class (or a base) that defines it */
	for (int depth = 0; type && depth < 8; depth++, type = pymem__ptr(m, type + L->tp_base)) {
		uint64_t d = pymem__dict_get(m, pymem__ptr(m, type + L->tp_dict), name);

		if (!d)
			continue;
		pymem__type_name(m, d, kind, sizeof(kind));
		if (strcmp(kind, "member_descriptor") ||
		    pymem__read(m, pymem__ptr(m, d + L->descr_member) + L->member_offset, &off,
				sizeof(off)) ||
		    off < 16 || off >= 4096 || off % 8)
			return 0;
		return pymem__ptr(m, obj + off);
	}
	return 0;
}

uint64_t pymem__local(struct lw_pymem *m, uint64_t frame, uint64_t code, const char *name)
{
	const struct lw_pycode *c = pymem__code(m, code);
	uint64_t names = pymem__ptr(m, code + m->L->co_localsplusnames);
	char local[64];

	for (int i = 0; c && i < c->nlocalsplus && i < 256; i++)
		if (!pymem__str(m, pymem__ptr(m, names + m->L->tuple_item + i * 8), local,
				sizeof(local)) &&
		    !strcmp(local, name))
			return pymem__ref(m, frame + m->L->fr_localsplus + i * 8);
	return 0;
}

int pymem__set_keys(struct lw_pymem *m, uint64_t set, uint64_t *out, int max)
{
	uint64_t mask, table, buf[2 * 256];
	int n = 0;

	if (pymem__kind(m, set) != PK_SET ||
	    pymem__read(m, set + m->L->set_mask, &mask, sizeof(mask)) ||
	    !(table = pymem__ptr(m, set + m->L->set_table)) || mask >= (1u << 20) ||
	    (mask & (mask + 1)))
		return -1;
	for (uint64_t i = 0; i <= mask; i += 256) {
		uint64_t k = mask + 1 - i < 256 ? mask + 1 - i : 256;

		if (pymem__read(m, table + i * 16, buf, k * 16))
			return -1;
		for (uint64_t j = 0; j < k && n < max; j++)
			if (buf[2 * j])
				out[n++] = buf[2 * j];
		if (n == max)
			break; /* full: the caller reads max as "too many", or as enough */
	}
	return n;
}

/* The bytes of a bytes object, malloc'ed; NULL when unreadable. */
static uint8_t *bytes(struct lw_pymem *m, uint64_t obj, int *len)
{
	uint8_t *buf;
	int64_t n;

	if (pymem__read(m, obj + m->L->var_size, &n, sizeof(n)) || n < 0 || n > BYTES_MAX)
		return NULL;
	buf = malloc(n + 1);
	if (buf && n && pymem__read(m, obj + m->L->bytes_sval, buf, n)) {
		free(buf);
		return NULL;
	}
	*len = n;
	return buf;
}

const struct lw_pycode *pymem__code(struct lw_pymem *m, uint64_t code)
{
	const struct lw_pylayout *L = m->L;
	struct lw_pycode *c;
	int32_t v[3];

	for (int i = 0; i < m->ncodes; i++)
		if (m->codes[i]->addr == code)
			return m->codes[i];
	if (m->ncodes == CODE_CACHE || pymem__kind(m, code) != PK_CODE)
		return NULL;
	c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->addr = code;
	if (pymem__read(m, code + L->co_firstlineno, &v[0], 4) ||
	    pymem__read(m, code + L->co_nlocalsplus, &v[1], 4) ||
	    pymem__read(m, code + L->co_stacksize, &v[2], 4) || v[1] < 0 || v[1] > 65536 ||
	    v[2] < 0 || v[2] > 65536 ||
	    pymem__str(m, pymem__ptr(m, code + L->co_qualname), c->qualname, sizeof(c->qualname)) ||
	    pymem__str(m, pymem__ptr(m, code + L->co_filename), c->filename, sizeof(c->filename)) ||
	    !(c->linetable = bytes(m, pymem__ptr(m, code + L->co_linetable), &c->nlinetable)) ||
	    !(c->exctable = bytes(m, pymem__ptr(m, code + L->co_exceptiontable), &c->nexctable))) {
		free(c->linetable);
		free(c);
		return NULL;
	}
	c->firstlineno = v[0];
	c->nlocalsplus = v[1];
	c->stacksize = v[2];
	m->codes[m->ncodes++] = c;
	return c;
}

int pymem__by_addr(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

void pymem__sort(void *v, int n, size_t size)
{
	if (n > 1)
		qsort(v, n, size, pymem__by_addr);
}

const void *pymem__find(const void *v, int n, size_t size, uint64_t addr)
{
	return n > 0 ? bsearch(&addr, v, n, size, pymem__by_addr) : NULL;
}
