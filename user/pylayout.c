// SPDX-License-Identifier: GPL-2.0
/*
 * The table of CPython layouts (see pylayout.h). x86-64, release builds. To
 * add a version: fill a struct from its Include/internal headers and
 * Modules/_asynciomodule.c and Modules/_threadmodule.c, add it to `layouts`,
 * and give tests/pylayout.c a case for it where its -dev package exists.
 */
#include <stddef.h>
#include "pylayout.h"

static const struct lw_pylayout py311 = {
	.version = 0x030b,
	.runtime_interp_head = 40,
	.interp_threads_head = 16,
	.interp_modules = 888,
	.ts_next = 8,
	.ts_cframe = 56,
	.ts_thread_id = 152,
	.ts_native_thread_id = 160,
	.cframe_current_frame = 8,
	.fr_code = 32,
	.fr_globals = 8,
	.fr_previous = 48,
	.fr_prev_instr = 56,
	.fr_stacktop = 64,
	.fr_owner = 69,
	.fr_localsplus = 72,
	.co_exceptiontable = 40,
	.co_stacksize = 68,
	.co_firstlineno = 72,
	.co_nlocalsplus = 76,
	.co_localsplusnames = 96,
	.co_filename = 112,
	.co_name = 120,
	.co_qualname = 128,
	.co_linetable = 136,
	.co_code = 184,
	.gen_frame_state = 75,
	.gen_iframe = 80,
	.gen_suspended = -1, /* FRAME_SUSPENDED */
	.ob_type = 8,
	.var_size = 16,
	.tuple_item = 24,
	.list_item = 24,
	.bytes_sval = 32,
	.str_state = 32,
	.str_ascii_data = 48, /* sizeof(PyASCIIObject) */
	.str_compact_data = 72, /* sizeof(PyCompactUnicodeObject) */
	.dict_keys = 32,
	.dict_values = 40,
	.dk_log2_size = 8,
	.dk_log2_index_bytes = 9,
	.dk_kind = 10,
	.dk_nentries = 24,
	.dk_indices = 32,
	.set_mask = 32,
	.set_table = 40,
	.weakref_object = 16,
	.method_func = 16,
	.method_self = 24,
	.cfunc_ml = 16,
	.cfunc_self = 24,
	.ml_name = 0,
	.func_name = 32,
	.func_globals = 16,
	.tp_name = 24,
	.tp_flags = 168,
	.tp_base = 256,
	.tp_dictoffset = 288,
	.tp_dict = 264,
	.ht_cached_keys = 872,
	.tpflags_managed_dict = 1 << 4,
	.managed_dict = -3,
	.managed_values = -4,
	.module_dict = 16,
	.long_digits = 24,
	.exc_traceback = 40,
	.tb_next = 16,
	.tb_frame = 24,
	.frameobj_frame = 24,
	/* Modules/_asynciomodule.c: FutureObj_HEAD, then the Task fields */
	.fut_state = 88,
	.fut_exception = 48,
	.task_fut_waiter = 128,
	.task_coro = 136,
	.task_name = 144,
	.futureiter_future = 16,
	/* Modules/_threadmodule.c */
	.lock_lock = 16,
	.rlock_owner = 24,
	.rlock_count = 32,
};

static const struct lw_pylayout *const layouts[] = { &py311 };

const struct lw_pylayout *pylayout__find(unsigned int version)
{
	for (size_t i = 0; i < sizeof(layouts) / sizeof(layouts[0]); i++)
		if (layouts[i]->version == version)
			return layouts[i];
	return NULL;
}
