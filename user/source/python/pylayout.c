// SPDX-License-Identifier: GPL-2.0
/*
 * The table of CPython layouts (see pylayout.h). x86-64, release builds. To
 * add a version: fill a struct from its Include/internal headers and
 * Modules/_asynciomodule.c and Modules/_threadmodule.c, add it to `layouts`,
 * and give tests/pylayout.c a case for it where its -dev package exists.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include "source/python/pylayout.h"

static const struct lw_pylayout py311 = {
	.version = 0x030b,
	.runtime_interp_head = 40,
	.gil_runtime = 360, /* ceval.gil */
	.gil_last_holder = 8,
	.gil_locked = 16,
	.gil_cond = 32,
	.interp_threads_head = 16,
	.interp_modules = 888,
	.ts_next = 8,
	.ts_cframe = 56,
	.ts_thread_id = 152,
	.ts_native_thread_id = 160,
	.cframe_current_frame = 8,
	.owner_cstack = -1,
	.fr_is_entry = 68,
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
	.co_qualname = 128,
	.co_linetable = 136,
	.co_code = 184,
	.gen_frame_state = 75,
	.gen_iframe = 80,
	.gen_suspended = -1, /* FRAME_SUSPENDED */
	.gen_suspended_yf = -1,
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
	.func_qualname = 40,
	.func_closure = 72,
	.cell_ref = 16,
	.descr_member = 40,
	.member_offset = 16,
	.descr_name = 24,
	.tp_name = 24,
	.tp_basicsize = 32,
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
	.managed = LW_PY_MANAGED_VALUES,
	.tasks_weakset = "_all_tasks",
	/* Modules/_asynciomodule.c: FutureObj_HEAD, then the Task fields */
	.fut_state = 88,
	.fut_exception = 48,
	.task_fut_waiter = 128,
	.task_coro = 136,
	.task_name = 144,
	/* Modules/_threadmodule.c */
	.lock_lock = 16,
	.rlock_owner = 24,
	.rlock_count = 32,
	/* Modules/_collectionsmodule.c */
	.deque_left = 24,
	.deque_leftindex = 40,
	.deque_state = 56,
	/* Modules/selectmodule.c */
	.epoll_fd = 16,
	/* Modules/_queuemodule.c */
	.sq_list = 32,
	.sq_list_pos = 40,
};

/* 3.12: cframe's frame first, frames start with f_code, shim frames on the
 * C stack, tagged ints, tagged managed dicts, no wstr in str, eager tasks. */
static const struct lw_pylayout py312 = {
	.version = 0x030c,
	.runtime_interp_head = 40,
	.interp_ceval_gil = 384,
	.gil_last_holder = 8,
	.gil_locked = 16,
	.gil_cond = 32,
	.interp_threads_head = 72,
	.interp_modules = 944,
	.ts_next = 8,
	.ts_cframe = 56,
	.ts_thread_id = 136,
	.ts_native_thread_id = 144,
	.cframe_current_frame = 0,
	.owner_cstack = 3, /* FRAME_OWNED_BY_CSTACK */
	.fr_is_entry = -1,
	.fr_code = 0,
	.fr_globals = 24,
	.fr_previous = 8,
	.fr_prev_instr = 56,
	.fr_stacktop = 64,
	.fr_owner = 70,
	.fr_localsplus = 72,
	.co_exceptiontable = 40,
	.co_stacksize = 64,
	.co_firstlineno = 68,
	.co_nlocalsplus = 72,
	.co_localsplusnames = 96,
	.co_filename = 112,
	.co_qualname = 128,
	.co_linetable = 136,
	.co_code = 192,
	.gen_frame_state = 67,
	.gen_iframe = 72,
	.gen_suspended = -1,
	.gen_suspended_yf = -1,
	.ob_type = 8,
	.var_size = 16,
	.tuple_item = 24,
	.list_item = 24,
	.bytes_sval = 32,
	.str_state = 32,
	.str_ascii_data = 40,
	.str_compact_data = 56,
	.dict_keys = 32,
	.dict_values = 40,
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
	.func_qualname = 40,
	.func_closure = 72,
	.cell_ref = 16,
	.descr_member = 40,
	.member_offset = 16,
	.descr_name = 24,
	.tp_name = 24,
	.tp_basicsize = 32,
	.tp_flags = 168,
	.tp_base = 256,
	.tp_dictoffset = 288,
	.tp_dict = 264,
	.ht_cached_keys = 880,
	.tpflags_managed_dict = 1 << 4,
	.managed_dict = -3,
	.module_dict = 16,
	.long_digits = 24,
	.long_tagged = 1,
	.managed = LW_PY_MANAGED_TAGGED,
	.tasks_weakset = "_scheduled_tasks",
	.tasks_eager = "_eager_tasks",
	.fut_state = 88,
	.fut_exception = 48,
	.task_fut_waiter = 128,
	.task_coro = 136,
	.task_name = 144,
	.lock_lock = 16,
	.rlock_owner = 24,
	.rlock_count = 32,
	/* Modules/_collectionsmodule.c */
	.deque_left = 24,
	.deque_leftindex = 40,
	.deque_state = 56,
	/* Modules/selectmodule.c */
	.epoll_fd = 16,
	/* Modules/_queuemodule.c */
	.sq_list = 32,
	.sq_list_pos = 40,
};

/* 3.13's _Py_DebugOffsets (Include/internal/pycore_runtime.h) */
static const struct lw_pydebug_words debug313 = {
	.nwords = 73,
	.rt_interp_head = 5,
	.is_threads_head = 9,
	.is_modules = 11,
	.ts_size = 19,
	.ts_next = 21,
	.ts_current_frame = 23,
	.ts_thread_id = 24,
	.ts_native_thread_id = 25,
	.fr_size = 28,
	.fr_previous = 29,
	.fr_executable = 30,
	.fr_instr_ptr = 31,
	.fr_localsplus = 32,
	.fr_owner = 33,
	.co_size = 34,
	.co_filename = 35,
	.co_qualname = 37,
	.co_linetable = 38,
	.co_firstlineno = 39,
	.co_localsplusnames = 41,
	.co_code_adaptive = 43,
	.ob_type = 45,
	.tp_size = 46,
	.tp_name = 47,
	.tp_flags = 49,
	.tuple_item = 51,
	.list_item = 54,
	.dict_keys = 57,
	.dict_values = 58,
	.long_tag = 62,
	.long_digit = 63,
	.bytes_sval = 66,
	.str_state = 68,
	.str_ascii_size = 70,
	.is_ceval_gil = 14,
	.is_gil = 15,
	.is_gil_locked = 17,
	.is_gil_holder = 18,
};

/* 3.13: the thread's frame without a cframe, f_executable and instr_ptr,
 * two suspended states, inline instance values. 3.13.1 made threading.Lock
 * a PyMutex parked on a semaphore of the waiter's. */
static const struct lw_pylayout py313 = {
	.version = 0x030d,
	.runtime_interp_head = 632,
	.interp_ceval_gil = 16,
	.gil_last_holder = 8,
	.gil_locked = 16,
	.gil_cond = 32,
	.interp_threads_head = 7344,
	.interp_modules = 7656,
	.ts_next = 8,
	.ts_current_frame = 72,
	.ts_thread_id = 152,
	.ts_native_thread_id = 160,
	.owner_cstack = 3,
	.fr_is_entry = -1,
	.fr_code = 0, /* f_executable */
	.fr_globals = 24,
	.fr_previous = 8,
	.fr_prev_instr = 56, /* instr_ptr */
	.fr_stacktop = 64,
	.fr_owner = 70,
	.fr_localsplus = 72,
	.co_exceptiontable = 40,
	.co_stacksize = 64,
	.co_firstlineno = 68,
	.co_nlocalsplus = 72,
	.co_localsplusnames = 96,
	.co_filename = 112,
	.co_qualname = 128,
	.co_linetable = 136,
	.co_code = 200,
	.gen_frame_state = 67,
	.gen_iframe = 72,
	.gen_suspended = -2,
	.gen_suspended_yf = -1,
	.ob_type = 8,
	.var_size = 16,
	.tuple_item = 24,
	.list_item = 24,
	.bytes_sval = 32,
	.str_state = 32,
	.str_ascii_data = 40,
	.str_compact_data = 56,
	.dict_keys = 32,
	.dict_values = 40,
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
	.func_qualname = 40,
	.func_closure = 72,
	.cell_ref = 16,
	.descr_member = 40,
	.member_offset = 16,
	.descr_name = 24,
	.tp_name = 24,
	.tp_basicsize = 32,
	.tp_flags = 168,
	.tp_base = 256,
	.tp_dictoffset = 288,
	.tp_dict = 264,
	.ht_cached_keys = 880,
	.tpflags_managed_dict = 1 << 4,
	.managed_dict = -3,
	.module_dict = 16,
	.long_digits = 24,
	.long_tagged = 1,
	.managed = LW_PY_MANAGED_INLINE,
	.tpflags_inline_values = 1 << 2,
	.values_array = 8,
	.values_valid = 3,
	.tasks_weakset = "_scheduled_tasks",
	.tasks_eager = "_eager_tasks",
	.fut_state = 96,
	.fut_exception = 48,
	.task_fut_waiter = 112,
	.task_coro = 120,
	.task_name = 128,
	.lock_lock = 16,
	.rlock_owner = 24,
	.rlock_count = 32,
	.lock_sem_max = 0x030d00f0, /* 3.13.0 final */
	/* struct wait_entry { void *park_arg; uintptr_t addr; sem_t sema; ...}:
	 * glibc's sem_t waits on its first word */
	.park_addr = -8,
	.debug = &debug313,
	.fr_size = 80,
	.co_size = 208,
	.tp_size = 416,
	/* Modules/_collectionsmodule.c */
	.deque_left = 24,
	.deque_leftindex = 40,
	.deque_state = 56,
	/* Modules/selectmodule.c */
	.epoll_fd = 16,
	/* Modules/_queuemodule.c */
	.sq_ring = 24,
};

/* 3.14's _Py_DebugOffsets (Include/internal/pycore_debug_offsets.h) */
static const struct lw_pydebug_words debug314 = {
	.nwords = 95,
	.rt_interp_head = 5,
	.is_threads_head = 9,
	.is_modules = 12,
	.ts_size = 22,
	.ts_next = 24,
	.ts_current_frame = 26,
	.ts_thread_id = 27,
	.ts_native_thread_id = 28,
	.fr_size = 31,
	.fr_previous = 32,
	.fr_executable = 33,
	.fr_instr_ptr = 34,
	.fr_localsplus = 35,
	.fr_owner = 36,
	.co_size = 39,
	.co_filename = 40,
	.co_qualname = 42,
	.co_linetable = 43,
	.co_firstlineno = 44,
	.co_localsplusnames = 46,
	.co_code_adaptive = 48,
	.ob_type = 51,
	.tp_size = 52,
	.tp_name = 53,
	.tp_flags = 55,
	.tuple_item = 57,
	.list_item = 60,
	.dict_keys = 67,
	.dict_values = 68,
	.long_tag = 72,
	.long_digit = 73,
	.bytes_sval = 76,
	.str_state = 78,
	.str_ascii_size = 80,
	.gen_size = 83,
	.gen_iframe = 85,
	.gen_frame_state = 86,
	.is_ceval_gil = 15,
	.is_gil = 16,
	.is_gil_locked = 18,
	.is_gil_holder = 19,
};

/* 3.14: _PyStackRef in frames (tagged f_executable and locals, a stack
 * pointer), `with` keeps __exit__ and self apart, tuples cache their hash,
 * both threading locks are parked-on mutexes, native tasks in linked lists. */
static const struct lw_pylayout py314 = {
	.version = 0x030e,
	.runtime_interp_head = 808,
	.interp_ceval_gil = 16,
	.gil_last_holder = 8,
	.gil_locked = 16,
	.gil_cond = 32,
	.interp_threads_head = 7344,
	.interp_modules = 7688,
	.ts_next = 8,
	.ts_current_frame = 72,
	.ts_thread_id = 152,
	.ts_native_thread_id = 160,
	.owner_cstack = 3, /* FRAME_OWNED_BY_INTERPRETER, and _CSTACK */
	.fr_is_entry = -1,
	.fr_code = 0, /* f_executable */
	.fr_globals = 24,
	.fr_previous = 8,
	.fr_prev_instr = 56, /* instr_ptr */
	.fr_stacktop = 64, /* stackpointer */
	.fr_owner = 74,
	.fr_localsplus = 80,
	.fr_stackpointer = 1,
	.stackref_tag = 3, /* Py_TAG_BITS */
	.with_exit_pair = 1,
	.co_exceptiontable = 40,
	.co_stacksize = 64,
	.co_firstlineno = 68,
	.co_nlocalsplus = 72,
	.co_localsplusnames = 96,
	.co_filename = 112,
	.co_qualname = 128,
	.co_linetable = 136,
	.co_code = 208,
	.gen_frame_state = 67,
	.gen_iframe = 72,
	.gen_suspended = -2,
	.gen_suspended_yf = -1,
	.ob_type = 8,
	.var_size = 16,
	.tuple_item = 32,
	.list_item = 24,
	.bytes_sval = 32,
	.str_state = 32,
	.str_ascii_data = 40,
	.str_compact_data = 56,
	.dict_keys = 32,
	.dict_values = 40,
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
	.func_qualname = 40,
	.func_closure = 72,
	.cell_ref = 16,
	.descr_member = 40,
	.member_offset = 16,
	.descr_name = 24,
	.tp_name = 24,
	.tp_basicsize = 32,
	.tp_flags = 168,
	.tp_base = 256,
	.tp_dictoffset = 288,
	.tp_dict = 264,
	.ht_cached_keys = 880,
	.tpflags_managed_dict = 1 << 4,
	.managed_dict = -3,
	.module_dict = 16,
	.long_digits = 24,
	.long_tagged = 1,
	.managed = LW_PY_MANAGED_INLINE,
	.tpflags_inline_values = 1 << 2,
	.values_array = 8,
	.values_valid = 3,
	.tasks_weakset = "_scheduled_tasks",
	.tasks_eager = "_eager_tasks",
	/* Modules/_asynciomodule.c: FutureObj_HEAD gained fut_awaited_by */
	.fut_state = 104,
	.fut_exception = 48,
	.task_fut_waiter = 120,
	.task_coro = 128,
	.task_name = 136,
	/* Modules/_threadmodule.c: PyMutex; _PyRecursiveMutex {mutex, thread, level} */
	.lock_lock = 16,
	.rlock_owner = 24,
	.rlock_count = 32,
	.lock_parked = 1,
	.rlock_parked = 1,
	.park_addr = -8,
	.debug = &debug314,
	.fr_size = 88,
	.co_size = 216,
	.tp_size = 416,
	.gen_size = 160,
	.task_size = 168,
	/* Modules/_collectionsmodule.c */
	.deque_left = 24,
	.deque_leftindex = 40,
	.deque_state = 56,
	/* Modules/selectmodule.c */
	.epoll_fd = 16,
	/* Modules/_queuemodule.c */
	.sq_ring = 24,
};

/* 3.15's _Py_DebugOffsets (Include/internal/pycore_debug_offsets.h) */
static const struct lw_pydebug_words debug315 = {
	.nwords = 111,
	.rt_interp_head = 5,
	.is_threads_head = 9,
	.is_modules = 12,
	.ts_size = 22,
	.ts_next = 24,
	.ts_current_frame = 26,
	.ts_thread_id = 30,
	.ts_native_thread_id = 31,
	.fr_size = 39,
	.fr_previous = 40,
	.fr_executable = 41,
	.fr_instr_ptr = 42,
	.fr_localsplus = 43,
	.fr_owner = 44,
	.co_size = 47,
	.co_filename = 48,
	.co_qualname = 50,
	.co_linetable = 51,
	.co_firstlineno = 52,
	.co_localsplusnames = 54,
	.co_code_adaptive = 56,
	.ob_type = 59,
	.tp_size = 60,
	.tp_name = 61,
	.tp_flags = 63,
	.tuple_item = 69,
	.list_item = 72,
	.dict_keys = 79,
	.dict_values = 80,
	.long_tag = 84,
	.long_digit = 85,
	.bytes_sval = 88,
	.str_state = 90,
	.str_ascii_size = 92,
	.gen_size = 99,
	.gen_iframe = 101,
	.gen_frame_state = 102,
	.is_ceval_gil = 15,
	.is_gil = 16,
	.is_gil_locked = 18,
	.is_gil_holder = 19,
};

/* 3.15: 3.14's, with new generator states (suspended 1-3, running 4), a
 * larger runtime, thread and type. */
static const struct lw_pylayout py315 = {
	.version = 0x030f,
	.runtime_interp_head = 936,
	.interp_ceval_gil = 16,
	.gil_last_holder = 8,
	.gil_locked = 16,
	.gil_cond = 32,
	.interp_threads_head = 7336,
	.interp_modules = 7592,
	.ts_next = 8,
	.ts_current_frame = 72,
	.ts_thread_id = 176,
	.ts_native_thread_id = 184,
	.owner_cstack = 3, /* FRAME_OWNED_BY_INTERPRETER */
	.fr_is_entry = -1,
	.fr_code = 0, /* f_executable */
	.fr_globals = 24,
	.fr_previous = 8,
	.fr_prev_instr = 56, /* instr_ptr */
	.fr_stacktop = 64, /* stackpointer */
	.fr_owner = 74,
	.fr_localsplus = 80,
	.fr_stackpointer = 1,
	.stackref_tag = 3, /* Py_TAG_BITS */
	.with_exit_pair = 1,
	.co_exceptiontable = 40,
	.co_stacksize = 64,
	.co_firstlineno = 68,
	.co_nlocalsplus = 72,
	.co_localsplusnames = 96,
	.co_filename = 112,
	.co_qualname = 128,
	.co_linetable = 136,
	.co_code = 208,
	.gen_frame_state = 67,
	.gen_iframe = 72,
	.gen_suspended = 1, /* FRAME_SUSPENDED */
	.gen_suspended_yf = 3, /* FRAME_SUSPENDED_YIELD_FROM_LOCKED */
	.gen_executing = 4,
	.gen_await_below = 1, /* YIELD_VALUE leaves its slot */
	.ob_type = 8,
	.var_size = 16,
	.tuple_item = 32,
	.list_item = 24,
	.bytes_sval = 32,
	.str_state = 32,
	.str_ascii_data = 40,
	.str_compact_data = 56,
	.dict_keys = 32,
	.dict_values = 40,
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
	.func_qualname = 40,
	.func_closure = 72,
	.cell_ref = 16,
	.descr_member = 40,
	.member_offset = 16,
	.descr_name = 24,
	.tp_name = 24,
	.tp_basicsize = 32,
	.tp_flags = 168,
	.tp_base = 256,
	.tp_dictoffset = 288,
	.tp_dict = 264,
	.ht_cached_keys = 888,
	.tpflags_managed_dict = 1 << 4,
	.managed_dict = -3,
	.module_dict = 16,
	.long_digits = 24,
	.long_tagged = 1,
	.managed = LW_PY_MANAGED_INLINE,
	.tpflags_inline_values = 1 << 2,
	.values_array = 8,
	.values_valid = 3,
	.tasks_weakset = "_scheduled_tasks",
	.tasks_eager = "_eager_tasks",
	/* Modules/_asynciomodule.c: FutureObj_HEAD gained fut_awaited_by */
	.fut_state = 104,
	.fut_exception = 48,
	.task_fut_waiter = 120,
	.task_coro = 128,
	.task_name = 136,
	/* Modules/_threadmodule.c: PyMutex; _PyRecursiveMutex {mutex, thread, level} */
	.lock_lock = 16,
	.rlock_owner = 24,
	.rlock_count = 32,
	.lock_parked = 1,
	.rlock_parked = 1,
	.park_addr = -8,
	.debug = &debug315,
	.fr_size = 88,
	.co_size = 216,
	.tp_size = 424,
	.gen_size = 160,
	.task_size = 168,
	/* Modules/_collectionsmodule.c */
	.deque_left = 24,
	.deque_leftindex = 40,
	.deque_state = 56,
	/* Modules/selectmodule.c */
	.epoll_fd = 16,
	/* Modules/_queuemodule.c */
	.sq_ring = 24,
};

static const struct lw_pylayout *const layouts[] = { &py311, &py312, &py313, &py314, &py315 };

const struct lw_pylayout *pylayout__find(unsigned int version)
{
	for (size_t i = 0; i < sizeof(layouts) / sizeof(layouts[0]); i++)
		if (layouts[i]->version == version)
			return layouts[i];
	return NULL;
}

/* The process's word i of its _Py_DebugOffsets, into *field when i is one:
 * an offset below its struct's size, which must be at most 64 KiB. */
static int take(const uint64_t *w, uint8_t i, uint64_t size, uint16_t *field)
{
	if (!i)
		return 0;
	if (size > 65536 || w[i] >= size)
		return -1;
	*field = w[i];
	return 0;
}

static int sized(const uint64_t *w, uint8_t i, uint16_t want, const char *what, char *why,
		 size_t len)
{
	if (!i || !want || w[i] == want)
		return 0;
	snprintf(why, len, "its %s is %" PRIu64 " bytes, lockwatch knows %u", what, w[i], want);
	return -1;
}

int pylayout__describe(const struct lw_pylayout *L, const uint64_t *w, size_t nwords,
		       uint32_t hexversion, struct lw_pylayout *out, char *why, size_t len)
{
	const struct lw_pydebug_words *d = L->debug;
	const uint64_t big = 65536, fr = w[d->fr_size], co = w[d->co_size], tp = w[d->tp_size];
	int bad = 0;

	why[0] = '\0';
	if (nwords < d->nwords || memcmp(&w[0], "xdebugpy", 8)) {
		snprintf(why, len, "no _Py_DebugOffsets at the start of _PyRuntime");
		return LW_PYDEBUG_MISMATCH;
	}
	if (w[1] >> 16 != L->version || (hexversion && w[1] != hexversion)) {
		snprintf(why, len,
			 "_Py_DebugOffsets says version 0x%08" PRIx64 ", Py_Version 0x%08x", w[1],
			 hexversion);
		return LW_PYDEBUG_MISMATCH;
	}
	if (w[2]) {
		snprintf(why, len, "a free-threaded build");
		return LW_PYDEBUG_FREETHREADED;
	}
	if (sized(w, d->fr_size, L->fr_size, "_PyInterpreterFrame", why, len) ||
	    sized(w, d->co_size, L->co_size, "PyCodeObject", why, len) ||
	    sized(w, d->tp_size, L->tp_size, "PyTypeObject", why, len) ||
	    sized(w, d->gen_size, L->gen_size, "PyGenObject", why, len))
		return LW_PYDEBUG_MISMATCH;
	if (d->long_tag && w[d->long_tag] != L->var_size) { /* read as any ob_size */
		snprintf(why, len, "its int's size field is at %" PRIu64 ", lockwatch knows %u",
			 w[d->long_tag], L->var_size);
		return LW_PYDEBUG_MISMATCH;
	}
	*out = *L;
	/* the runtime and the interpreter have no size here that matters:
	 * only their described fields are read */
	bad |= take(w, d->rt_interp_head, big, &out->runtime_interp_head);
	bad |= take(w, d->is_threads_head, big, &out->interp_threads_head);
	bad |= take(w, d->is_modules, big, &out->interp_modules);
	bad |= take(w, d->is_ceval_gil, big, &out->interp_ceval_gil);
	if (d->is_gil) { /* where the GIL's fields are, in its struct */
		uint64_t gil = w[d->is_gil], locked = w[d->is_gil_locked] - gil,
			 holder = w[d->is_gil_holder] - gil;

		bad |= w[d->is_gil_locked] < gil || w[d->is_gil_holder] < gil || locked >= 256 ||
		       holder >= 256;
		out->gil_locked = locked;
		out->gil_last_holder = holder;
	}
	bad |= take(w, d->ts_next, w[d->ts_size], &out->ts_next);
	bad |= take(w, d->ts_current_frame, w[d->ts_size], &out->ts_current_frame);
	bad |= take(w, d->ts_thread_id, w[d->ts_size], &out->ts_thread_id);
	bad |= take(w, d->ts_native_thread_id, w[d->ts_size], &out->ts_native_thread_id);
	bad |= take(w, d->fr_previous, fr, &out->fr_previous);
	bad |= take(w, d->fr_executable, fr, &out->fr_code);
	bad |= take(w, d->fr_instr_ptr, fr, &out->fr_prev_instr);
	bad |= take(w, d->fr_localsplus, fr + 1, &out->fr_localsplus); /* the frame's end */
	bad |= take(w, d->fr_owner, fr, &out->fr_owner);
	bad |= take(w, d->co_filename, co, &out->co_filename);
	bad |= take(w, d->co_qualname, co, &out->co_qualname);
	bad |= take(w, d->co_linetable, co, &out->co_linetable);
	bad |= take(w, d->co_firstlineno, co, &out->co_firstlineno);
	bad |= take(w, d->co_localsplusnames, co, &out->co_localsplusnames);
	bad |= take(w, d->co_code_adaptive, co + 1, &out->co_code); /* the code's end */
	bad |= take(w, d->ob_type, big, &out->ob_type);
	bad |= take(w, d->tp_name, tp, &out->tp_name);
	bad |= take(w, d->tp_flags, tp, &out->tp_flags);
	bad |= take(w, d->tuple_item, big, &out->tuple_item);
	bad |= take(w, d->list_item, big, &out->list_item);
	bad |= take(w, d->dict_keys, big, &out->dict_keys);
	bad |= take(w, d->dict_values, big, &out->dict_values);
	bad |= take(w, d->long_digit, big, &out->long_digits);
	bad |= take(w, d->bytes_sval, big, &out->bytes_sval);
	bad |= take(w, d->str_state, big, &out->str_state);
	bad |= take(w, d->str_ascii_size, big, &out->str_ascii_data);
	bad |= take(w, d->gen_iframe, w[d->gen_size] + 1, &out->gen_iframe);
	bad |= take(w, d->gen_frame_state, w[d->gen_size], &out->gen_frame_state);
	if (bad) {
		snprintf(why, len, "an offset of its _Py_DebugOffsets lies outside its struct");
		return LW_PYDEBUG_MISMATCH;
	}
	return LW_PYDEBUG_OK;
}

int pylayout__asyncio(struct lw_pylayout *L, const uint64_t *w, char *why, size_t len)
{
	/* _Py_AsyncioModuleDebugOffsets: the task (size, name, awaited_by,
	 * is_task, awaited_by_is_set, coro, node), the interpreter's state
	 * (size, tasks head), the thread's (size, running loop, running task,
	 * tasks head) */
	enum {
		T_SIZE,
		T_NAME,
		T_AWAITED_BY,
		T_IS_TASK,
		T_IS_SET,
		T_CORO,
		T_NODE,
		I_SIZE,
		I_HEAD,
		S_SIZE,
		S_LOOP,
		S_TASK,
		S_HEAD
	};

	if (w[T_SIZE] != L->task_size || w[T_NAME] != L->task_name || w[T_CORO] != L->task_coro) {
		snprintf(why, len,
			 "its .AsyncioDebug describes a %" PRIu64 "-byte task (name at %" PRIu64
			 ", coroutine at %" PRIu64 "), lockwatch knows %u (%u, %u)",
			 w[T_SIZE], w[T_NAME], w[T_CORO], L->task_size, L->task_name, L->task_coro);
		return -1;
	}
	if (w[T_NODE] + 16 > w[T_SIZE] || w[I_SIZE] > (1 << 20) || w[I_HEAD] + 16 > w[I_SIZE] ||
	    w[S_SIZE] > 65536 || w[S_HEAD] + 16 > w[S_SIZE]) {
		snprintf(why, len, "an offset of its .AsyncioDebug lies outside its struct");
		return -1;
	}
	L->task_node = w[T_NODE];
	L->ts_asyncio_tasks = w[S_HEAD];
	L->is_asyncio_tasks = w[I_HEAD];
	return 0;
}
