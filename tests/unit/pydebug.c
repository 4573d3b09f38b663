// SPDX-License-Identifier: GPL-2.0
/*
 * pydebug - lockwatch's reading of a CPython 3.13+ from the interpreter's own
 * description of itself (_Py_DebugOffsets; pylayout__describe), over crafted
 * tables: a faithful one gives the version's layout, one whose offsets moved
 * gives the moved offsets, and a free-threaded build, a wrong cookie or
 * version, a struct of another size than the table's own offsets were taken
 * from, an offset outside its struct or a short table each give one reason
 * and no layout: never a misread.
 */
#include <string.h>
#include "source/python/pylayout.h"
#include "tap.h"

#define HEX3135 0x030d05f0 /* 3.13.5 final */

static const struct lw_pylayout *L;
static uint64_t w[256];

/* The table a 3.13 interpreter whose layout is exactly L gives. */
static void faithful(void)
{
	const struct lw_pydebug_words *d = L->debug;

	memset(w, 0, sizeof(w));
	memcpy(&w[0], "xdebugpy", 8);
	w[1] = HEX3135;
	w[d->rt_interp_head] = L->runtime_interp_head;
	w[d->is_threads_head] = L->interp_threads_head;
	w[d->is_modules] = L->interp_modules;
	w[d->ts_size] = 4096;
	w[d->ts_next] = L->ts_next;
	w[d->ts_current_frame] = L->ts_current_frame;
	w[d->ts_thread_id] = L->ts_thread_id;
	w[d->ts_native_thread_id] = L->ts_native_thread_id;
	w[d->fr_size] = L->fr_size;
	w[d->fr_previous] = L->fr_previous;
	w[d->fr_executable] = L->fr_code;
	w[d->fr_instr_ptr] = L->fr_prev_instr;
	w[d->fr_localsplus] = L->fr_localsplus;
	w[d->fr_owner] = L->fr_owner;
	w[d->co_size] = L->co_size;
	w[d->co_filename] = L->co_filename;
	w[d->co_qualname] = L->co_qualname;
	w[d->co_linetable] = L->co_linetable;
	w[d->co_firstlineno] = L->co_firstlineno;
	w[d->co_localsplusnames] = L->co_localsplusnames;
	w[d->co_code_adaptive] = L->co_code;
	w[d->ob_type] = L->ob_type;
	w[d->tp_size] = L->tp_size;
	w[d->tp_name] = L->tp_name;
	w[d->tp_flags] = L->tp_flags;
	w[d->tuple_item] = L->tuple_item;
	w[d->list_item] = L->list_item;
	w[d->dict_keys] = L->dict_keys;
	w[d->dict_values] = L->dict_values;
	w[d->long_tag] = L->var_size;
	w[d->long_digit] = L->long_digits;
	w[d->bytes_sval] = L->bytes_sval;
	w[d->str_state] = L->str_state;
	w[d->str_ascii_size] = L->str_ascii_data;
	w[d->is_ceval_gil] = L->interp_ceval_gil;
	w[d->is_gil] = 70000; /* the interpreter's own GIL, far into it */
	w[d->is_gil_locked] = 70000 + L->gil_locked;
	w[d->is_gil_holder] = 70000 + L->gil_last_holder;
}

/* pylayout__describe of w: LW_PYDEBUG_*, why into why. */
static int describe(struct lw_pylayout *out, char *why, size_t nwords, uint32_t hex)
{
	memset(out, 0xa5, sizeof(*out));
	return pylayout__describe(L, w, nwords, hex, out, why, 160);
}

static void refused(int want, const char *reason, const char *what)
{
	struct lw_pylayout out;
	char why[160];
	int got = describe(&out, why, L->debug->nwords, HEX3135);

	ok(got == want && strstr(why, reason), "%s: refused, \"%s\"", what, why);
}

int main(void)
{
	const struct lw_pydebug_words *d;
	struct lw_pylayout out;
	char why[160];
	int r;

	tap_begin();
	L = pylayout__find(0x030d);
	if (!ok(L && L->debug, "3.13 is read from its _Py_DebugOffsets"))
		return done();
	d = L->debug;

	faithful();
	r = describe(&out, why, d->nwords, HEX3135);
	ok(r == LW_PYDEBUG_OK && !why[0], "a faithful table is taken (%s)", why);
	ok(out.interp_threads_head == L->interp_threads_head &&
		   out.ts_current_frame == L->ts_current_frame && out.fr_code == L->fr_code &&
		   out.co_qualname == L->co_qualname &&
		   out.co_exceptiontable == L->co_exceptiontable && out.lock_lock == L->lock_lock &&
		   out.task_coro == L->task_coro && out.gil_locked == L->gil_locked &&
		   out.gil_last_holder == L->gil_last_holder &&
		   out.interp_ceval_gil == L->interp_ceval_gil,
	   "it gives 3.13's layout, described and hand-written offsets alike");
	ok(describe(&out, why, d->nwords, 0) == LW_PYDEBUG_OK, "also without Py_Version");

	/* a patch release that moved what the table describes */
	faithful();
	w[d->is_threads_head] += 64;
	w[d->ts_current_frame] += 8;
	w[d->co_qualname] = L->co_filename + 8;
	r = describe(&out, why, d->nwords, HEX3135);
	ok(r == LW_PYDEBUG_OK && out.interp_threads_head == L->interp_threads_head + 64 &&
		   out.ts_current_frame == L->ts_current_frame + 8 &&
		   out.co_qualname == L->co_filename + 8,
	   "moved interpreter, thread and code fields are read where the table says");

	faithful();
	w[2] = 1;
	refused(LW_PYDEBUG_FREETHREADED, "free-threaded", "a free-threaded build");
	faithful();
	memcpy(&w[0], "xdebugpz", 8);
	refused(LW_PYDEBUG_MISMATCH, "no _Py_DebugOffsets", "a wrong cookie");
	faithful();
	w[1] = 0x030e00f0;
	refused(LW_PYDEBUG_MISMATCH, "version 0x030e00f0", "another minor version");
	faithful();
	w[1] = 0x030d04f0;
	refused(LW_PYDEBUG_MISMATCH, "Py_Version 0x030d05f0", "a version Py_Version contradicts");
	faithful();
	w[d->co_size] += 8;
	refused(LW_PYDEBUG_MISMATCH, "PyCodeObject is 216 bytes, lockwatch knows 208",
		"a code object of another size (its exception table may have moved)");
	faithful();
	w[d->fr_size] -= 8;
	refused(LW_PYDEBUG_MISMATCH, "_PyInterpreterFrame is 72 bytes", "a frame of another size");
	faithful();
	w[d->fr_owner] = L->fr_size;
	refused(LW_PYDEBUG_MISMATCH, "outside its struct", "an offset past its struct's end");
	faithful();
	w[d->ts_size] = 1ULL << 40;
	refused(LW_PYDEBUG_MISMATCH, "outside its struct", "an absurd struct size");
	faithful();
	w[d->long_tag] += 8;
	refused(LW_PYDEBUG_MISMATCH, "int's size field is at 24", "an int whose size field moved");
	faithful();
	r = describe(&out, why, d->nwords - 1, HEX3135);
	ok(r == LW_PYDEBUG_MISMATCH, "a table cut short: refused, \"%s\"", why);
	return done();
}
