/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Where CPython keeps what lockwatch reads, per interpreter version: every
 * offset into the runtime, threads, frames, code, objects and the _asyncio
 * and _thread extension types, in one table. Offsets of the core structures
 * come from the version's internal headers (tests/pylayout.c checks them
 * against python3.11-dev); those of the extension types, which no header
 * carries, from the version's Modules/ sources. A version not listed is
 * "unsupported": the native detector still covers its threads.
 */
#ifndef LW_PYLAYOUT_H
#define LW_PYLAYOUT_H

#include <stddef.h>
#include <stdint.h>

/*
 * 3.13+: where the interpreter's own description of itself, the
 * _Py_DebugOffsets at the start of _PyRuntime, keeps each size and offset
 * lockwatch takes from it, as indexes of its 64-bit words (that struct
 * changes between minor versions; tests/pylayout.c checks the indexes
 * against each version's header). 0: the version has no such word.
 */
struct lw_pydebug_words {
	uint8_t nwords; /* the struct's size, in words */
	uint8_t rt_interp_head;
	uint8_t is_threads_head, is_modules;
	uint8_t ts_size, ts_next, ts_current_frame, ts_thread_id, ts_native_thread_id;
	uint8_t fr_size, fr_previous, fr_executable, fr_instr_ptr, fr_localsplus, fr_owner;
	uint8_t co_size, co_filename, co_qualname, co_linetable, co_firstlineno, co_localsplusnames,
		co_code_adaptive;
	uint8_t ob_type;
	uint8_t tp_size, tp_name, tp_flags;
	uint8_t tuple_item, list_item, dict_keys, dict_values;
	uint8_t long_tag, long_digit, bytes_sval, str_state, str_ascii_size;
	uint8_t gen_size, gen_iframe, gen_frame_state;
	/* the interpreter's ceval.gil, its own _gil, and that GIL's fields */
	uint8_t is_ceval_gil, is_gil, is_gil_locked, is_gil_holder;
};

struct lw_pylayout {
	unsigned int version; /* (major << 8) | minor */
	/* _PyRuntimeState, PyInterpreterState, PyThreadState, _PyCFrame */
	uint16_t runtime_interp_head;
	/* the GIL (struct _gil_runtime_state): 3.11 in the runtime at
	 * gil_runtime, 3.12+ pointed to by the interpreter's ceval.gil; its
	 * last holder (a PyThreadState), whether it is locked, and the condition
	 * variable its waiters sleep on */
	uint16_t gil_runtime, interp_ceval_gil;
	uint16_t gil_last_holder, gil_locked, gil_cond;
	uint16_t interp_threads_head, interp_modules;
	uint16_t ts_next, ts_cframe, ts_thread_id, ts_native_thread_id;
	uint16_t cframe_current_frame;
	uint16_t ts_current_frame; /* 3.13: the frame is the thread's own (ts_cframe 0) */
	int8_t owner_cstack; /* frame owners from this up: shim frames, not code's; -1: none */
	int8_t fr_is_entry; /* 3.11: _PyInterpreterFrame.is_entry; -1: shim frames say it */
	/* _PyInterpreterFrame */
	uint16_t fr_code, fr_globals, fr_previous, fr_prev_instr, fr_stacktop, fr_owner,
		fr_localsplus;
	uint8_t fr_stackpointer; /* 3.14: fr_stacktop is a pointer, not an index */
	uint8_t stackref_tag; /* 3.14: tag bits of _PyStackRef (f_executable, localsplus) */
	uint8_t with_exit_pair; /* 3.14: `with` keeps __exit__ and its self, not a bound method */
	/* PyCodeObject */
	uint16_t co_exceptiontable, co_stacksize, co_firstlineno, co_nlocalsplus,
		co_localsplusnames, co_filename, co_qualname, co_linetable, co_code;
	/* PyGenObject (generators and coroutines) */
	uint16_t gen_frame_state, gen_iframe;
	int8_t gen_suspended; /* gi_frame_state of a suspended generator, from this */
	int8_t gen_suspended_yf; /* to this (in `await`: 3.13 tells them apart) */
	int8_t gen_executing; /* gi_frame_state of a running one */
	int8_t gen_await_below; /* 3.15: slots above the awaited object, suspended */
	/* objects */
	uint16_t ob_type, var_size, tuple_item, list_item, bytes_sval;
	uint16_t str_state, str_ascii_data, str_compact_data;
	uint16_t dict_keys, dict_values, dk_log2_index_bytes, dk_kind, dk_nentries, dk_indices;
	uint16_t set_mask, set_table;
	uint16_t weakref_object;
	uint16_t method_func, method_self; /* bound Python method */
	uint16_t cfunc_ml, cfunc_self, ml_name; /* bound builtin method */
	uint16_t func_name, func_qualname, func_closure;
	uint16_t cell_ref; /* PyCellObject.ob_ref */
	uint16_t descr_member, member_offset; /* a __slots__ member's offset in its object */
	uint16_t descr_name; /* PyDescrObject.d_name */
	uint16_t tp_name, tp_flags, tp_base, tp_dictoffset, tp_dict, ht_cached_keys;
	uint64_t tpflags_managed_dict;
	int8_t managed_dict, managed_values; /* pointer slots before the object */
	uint16_t module_dict;
	uint16_t long_digits; /* PyLongObject: 30-bit digits */
	int8_t long_tagged; /* 3.12+: lv_tag (sign, count) at var_size, not ob_size */
	enum {
		LW_PY_MANAGED_VALUES, /* 3.11: values at managed_values, dict at managed_dict */
		LW_PY_MANAGED_TAGGED, /* 3.12: one word at managed_dict, values - 1 or dict */
		LW_PY_MANAGED_INLINE, /* 3.13: dict at managed_dict, else values inline */
	} managed;
	uint64_t tpflags_inline_values;
	uint16_t tp_basicsize; /* 3.13: inline values follow the object's basic size */
	uint16_t values_array, values_valid; /* PyDictValues.values, .valid (3.13) */
	/* asyncio.tasks: the WeakSet of tasks; the set of eager tasks (or NULL) */
	const char *tasks_weakset, *tasks_eager;
	/* _asyncio: FutureObj / TaskObj */
	uint16_t fut_state, fut_exception, task_fut_waiter, task_coro, task_name;
	/* _thread: lockobject, rlockobject. An RLock's lock_lock points to its
	 * semaphore; a Lock's too, up to lock_sem_max (a hexversion; 0: every
	 * release of the version). After it, a Lock's lock_lock is a PyMutex
	 * whose waiters park on a semaphore of their own, in a wait entry on
	 * their stack that records the mutex's address park_addr bytes from
	 * the semaphore's futex word (Python/parking_lot.c). */
	uint16_t lock_lock, rlock_owner, rlock_count;
	uint32_t lock_sem_max;
	uint8_t lock_parked, rlock_parked; /* 3.14: always PyMutex (RLock: _PyRecursiveMutex) */
	int8_t park_addr;
	/* 3.13+: the words of _Py_DebugOffsets, and the sizes of the structs
	 * this table supplies offsets of that the interpreter does not
	 * describe (its frames, code, types, generators: the version's own) */
	const struct lw_pydebug_words *debug;
	uint16_t fr_size, co_size, tp_size, gen_size;
	/* 3.14+: native tasks are in linked lists, per thread and per
	 * interpreter, that the _asyncio module's .AsyncioDebug section
	 * describes (task_size: the TaskObj it must describe; the offsets
	 * are filled from it: 0 until found) */
	uint16_t task_size;
	uint16_t task_node, ts_asyncio_tasks;
	uint32_t is_asyncio_tasks;
	/* Modules/_collectionsmodule.c: a deque's first block and index in it
	 * (its length at var_size); a block's items follow one link word */
	uint16_t deque_left, deque_leftindex;
	uint16_t deque_state; /* counts every move of its ends */
	uint16_t epoll_fd; /* Modules/selectmodule.c: a select.epoll's fd (an int) */
	/* Modules/_queuemodule.c: a SimpleQueue's items - a list and the index
	 * of its first (to 3.12), or a ring buffer (3.13: put, get, items,
	 * capacity, count) at sq_ring */
	uint16_t sq_list, sq_list_pos, sq_ring;
};

/* The layout of version (major << 8 | minor), or NULL: unsupported. */
const struct lw_pylayout *pylayout__find(unsigned int version);

enum {
	LW_PYDEBUG_OK,
	LW_PYDEBUG_FREETHREADED, /* a free-threaded build: another object layout */
	LW_PYDEBUG_MISMATCH, /* not the described interpreter lockwatch knows */
};

/*
 * L (a version with debug words) as the interpreter itself describes it:
 * words, its _Py_DebugOffsets (nwords of them), and hexversion its
 * Py_Version (0: unknown), into out. The cookie, the version and every size
 * and offset are checked; a struct whose size is not the one L's own
 * offsets into it were taken from makes it a mismatch. Says why in why.
 */
int pylayout__describe(const struct lw_pylayout *L, const uint64_t *words, size_t nwords,
		       uint32_t hexversion, struct lw_pylayout *out, char *why, size_t len);

/* The words of a 3.14+ .AsyncioDebug section (_Py_AsyncioModuleDebugOffsets) */
#define LW_PYASYNC_WORDS 13

/*
 * L's task list offsets (task_node, ts_asyncio_tasks, is_asyncio_tasks)
 * from an .AsyncioDebug section's words: 0, or -1 (why says why) when it
 * does not describe the TaskObj L knows or an offset lies outside its struct.
 */
int pylayout__asyncio(struct lw_pylayout *L, const uint64_t *words, char *why, size_t len);

#endif /* LW_PYLAYOUT_H */
