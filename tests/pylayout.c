// SPDX-License-Identifier: GPL-2.0
/*
 * pylayout - lockwatch's table of CPython offsets (user/source/python/pylayout.c) against
 * the internal headers of the version it is compiled with (python3.11-dev;
 * a 3.12 or 3.13 install's include/ where one is present): every offset lockwatch
 * reads a core structure at must be the compiler's. Prints TAP. The _asyncio
 * and _thread objects have no header; the Python tests check those by reading
 * real tasks and locks.
 */
#define Py_BUILD_CORE 1
#include <Python.h>
#include <structmember.h> /* PyMemberDef, to 3.11 */
#include <internal/pycore_code.h>
#include <internal/pycore_dict.h>
#include <internal/pycore_frame.h>
#include <internal/pycore_gil.h>
#include <internal/pycore_interp.h>
#include <internal/pycore_moduleobject.h>
#include <internal/pycore_runtime.h>
#if PY_MINOR_VERSION >= 14
#include <internal/pycore_stackref.h>
#endif
#include <stddef.h>
#include <stdio.h>
#include "source/python/pylayout.h"

static int n, failed;

static void is(long got, long want, const char *what)
{
	n++;
	if (got != want)
		failed++;
	printf("%s %d - %s: table %ld, header %ld\n", got == want ? "ok" : "not ok", n, what, got,
	       want);
}

#define OFF(field, type, member) is(L->field, offsetof(type, member), #field)
#define WORD(field, bytes) is(L->debug ? L->debug->field : -1, (bytes) / 8, "debug word " #field)
#define DBG(field, member) WORD(field, offsetof(_Py_DebugOffsets, member))

int main(void)
{
	const struct lw_pylayout *L = pylayout__find(PY_MAJOR_VERSION << 8 | PY_MINOR_VERSION);

	printf("TAP version 13\n");
	if (!L) {
		printf("1..1\nnot ok 1 - no layout for Python %d.%d\n", PY_MAJOR_VERSION,
		       PY_MINOR_VERSION);
		return 1;
	}
	OFF(runtime_interp_head, _PyRuntimeState, interpreters.head);
	OFF(interp_threads_head, PyInterpreterState, threads.head);
#if PY_MINOR_VERSION >= 14
	is(L->owner_cstack, FRAME_OWNED_BY_INTERPRETER, "owner_cstack");
#elif PY_MINOR_VERSION >= 12
	is(L->owner_cstack, FRAME_OWNED_BY_CSTACK, "owner_cstack");
#endif
#if PY_MINOR_VERSION >= 12
	OFF(interp_modules, PyInterpreterState, imports.modules);
	is(L->fr_is_entry, -1, "fr_is_entry");
	OFF(long_digits, PyLongObject, long_value.ob_digit);
	OFF(var_size, PyLongObject, long_value.lv_tag);
	is(L->long_tagged, 1, "long_tagged");
#else
	OFF(interp_modules, PyInterpreterState, modules);
	OFF(fr_is_entry, _PyInterpreterFrame, is_entry);
	OFF(long_digits, PyLongObject, ob_digit);
	is(L->long_tagged, 0, "long_tagged");
#endif
	OFF(ts_next, PyThreadState, next);
#if PY_MINOR_VERSION >= 12
	OFF(interp_ceval_gil, PyInterpreterState, ceval.gil);
	is(L->gil_runtime, 0, "gil_runtime");
#else
	OFF(gil_runtime, _PyRuntimeState, ceval.gil);
	is(L->interp_ceval_gil, 0, "interp_ceval_gil");
#endif
	OFF(gil_last_holder, struct _gil_runtime_state, last_holder);
	OFF(gil_locked, struct _gil_runtime_state, locked);
	OFF(gil_cond, struct _gil_runtime_state, cond);
#if PY_MINOR_VERSION >= 13
	OFF(ts_current_frame, PyThreadState, current_frame);
	is(L->ts_cframe, 0, "ts_cframe");
#else
	OFF(ts_cframe, PyThreadState, cframe);
	OFF(cframe_current_frame, _PyCFrame, current_frame);
#endif
	OFF(ts_thread_id, PyThreadState, thread_id);
	OFF(ts_native_thread_id, PyThreadState, native_thread_id);
#if PY_MINOR_VERSION >= 13
	OFF(fr_code, _PyInterpreterFrame, f_executable);
	OFF(fr_prev_instr, _PyInterpreterFrame, instr_ptr);
#else
	OFF(fr_code, _PyInterpreterFrame, f_code);
	OFF(fr_prev_instr, _PyInterpreterFrame, prev_instr);
#endif
	OFF(fr_globals, _PyInterpreterFrame, f_globals);
	OFF(fr_previous, _PyInterpreterFrame, previous);
	OFF(fr_owner, _PyInterpreterFrame, owner);
	OFF(fr_localsplus, _PyInterpreterFrame, localsplus);
	OFF(co_exceptiontable, PyCodeObject, co_exceptiontable);
	OFF(co_stacksize, PyCodeObject, co_stacksize);
	OFF(co_firstlineno, PyCodeObject, co_firstlineno);
	OFF(co_nlocalsplus, PyCodeObject, co_nlocalsplus);
	OFF(co_localsplusnames, PyCodeObject, co_localsplusnames);
	OFF(co_filename, PyCodeObject, co_filename);
	OFF(co_qualname, PyCodeObject, co_qualname);
	OFF(co_linetable, PyCodeObject, co_linetable);
	OFF(co_code, PyCodeObject, co_code_adaptive);
	OFF(gen_frame_state, PyGenObject, gi_frame_state);
	OFF(gen_iframe, PyGenObject, gi_iframe);
	is(L->gen_suspended, FRAME_SUSPENDED, "gen_suspended");
	is(L->gen_executing, FRAME_EXECUTING, "gen_executing");
#if PY_MINOR_VERSION >= 15
	is(L->gen_suspended_yf, FRAME_SUSPENDED_YIELD_FROM_LOCKED, "gen_suspended_yf");
#elif PY_MINOR_VERSION >= 13
	is(L->gen_suspended_yf, FRAME_SUSPENDED_YIELD_FROM, "gen_suspended_yf");
#endif
#if PY_MINOR_VERSION >= 13
	OFF(values_array, PyDictValues, values);
	OFF(values_valid, PyDictValues, valid);
	is(L->tpflags_inline_values, Py_TPFLAGS_INLINE_VALUES, "tpflags_inline_values");
#else
	is(L->gen_suspended_yf, FRAME_SUSPENDED, "gen_suspended_yf");
#endif
#if PY_MINOR_VERSION >= 14
	OFF(fr_stacktop, _PyInterpreterFrame, stackpointer);
	is(L->fr_stackpointer, 1, "fr_stackpointer");
	is(L->stackref_tag, Py_TAG_BITS, "stackref_tag");
#else
	OFF(fr_stacktop, _PyInterpreterFrame, stacktop);
	is(L->fr_stackpointer, 0, "fr_stackpointer");
	is(L->stackref_tag, 0, "stackref_tag");
#endif
	OFF(ob_type, PyObject, ob_type);
	OFF(var_size, PyVarObject, ob_size);
	OFF(tuple_item, PyTupleObject, ob_item);
	OFF(list_item, PyListObject, ob_item);
	OFF(bytes_sval, PyBytesObject, ob_sval);
	is(L->str_ascii_data, sizeof(PyASCIIObject), "str_ascii_data");
	is(L->str_compact_data, sizeof(PyCompactUnicodeObject), "str_compact_data");
	OFF(dict_keys, PyDictObject, ma_keys);
	OFF(dict_values, PyDictObject, ma_values);
	OFF(dk_log2_index_bytes, PyDictKeysObject, dk_log2_index_bytes);
	OFF(dk_kind, PyDictKeysObject, dk_kind);
	OFF(dk_nentries, PyDictKeysObject, dk_nentries);
	OFF(dk_indices, PyDictKeysObject, dk_indices);
	OFF(set_mask, PySetObject, mask);
	OFF(set_table, PySetObject, table);
	OFF(weakref_object, PyWeakReference, wr_object);
	OFF(method_func, PyMethodObject, im_func);
	OFF(method_self, PyMethodObject, im_self);
	OFF(cfunc_ml, PyCFunctionObject, m_ml);
	OFF(cfunc_self, PyCFunctionObject, m_self);
	OFF(ml_name, PyMethodDef, ml_name);
	OFF(func_name, PyFunctionObject, func_name);
	OFF(func_qualname, PyFunctionObject, func_qualname);
	OFF(func_closure, PyFunctionObject, func_closure);
	OFF(cell_ref, PyCellObject, ob_ref);
	OFF(descr_member, PyMemberDescrObject, d_member);
	OFF(member_offset, PyMemberDef, offset);
	OFF(descr_name, PyDescrObject, d_name);
	OFF(tp_name, PyTypeObject, tp_name);
	OFF(tp_basicsize, PyTypeObject, tp_basicsize);
	OFF(tp_flags, PyTypeObject, tp_flags);
	OFF(tp_base, PyTypeObject, tp_base);
	OFF(tp_dictoffset, PyTypeObject, tp_dictoffset);
	OFF(tp_dict, PyTypeObject, tp_dict);
	OFF(ht_cached_keys, PyHeapTypeObject, ht_cached_keys);
	is(L->tpflags_managed_dict, Py_TPFLAGS_MANAGED_DICT, "tpflags_managed_dict");
	OFF(module_dict, PyModuleObject, md_dict);
#if PY_MINOR_VERSION >= 13
	/* where _Py_DebugOffsets keeps what lockwatch takes from it */
	WORD(nwords, sizeof(_Py_DebugOffsets));
	WORD(rt_interp_head, offsetof(_Py_DebugOffsets, runtime_state.interpreters_head));
	DBG(is_threads_head, interpreter_state.threads_head);
	DBG(is_modules, interpreter_state.imports_modules);
	DBG(ts_size, thread_state.size);
	DBG(ts_next, thread_state.next);
	DBG(ts_current_frame, thread_state.current_frame);
	DBG(ts_thread_id, thread_state.thread_id);
	DBG(ts_native_thread_id, thread_state.native_thread_id);
	DBG(fr_size, interpreter_frame.size);
	DBG(fr_previous, interpreter_frame.previous);
	DBG(fr_executable, interpreter_frame.executable);
	DBG(fr_instr_ptr, interpreter_frame.instr_ptr);
	DBG(fr_localsplus, interpreter_frame.localsplus);
	DBG(fr_owner, interpreter_frame.owner);
	DBG(co_size, code_object.size);
	DBG(co_filename, code_object.filename);
	DBG(co_qualname, code_object.qualname);
	DBG(co_linetable, code_object.linetable);
	DBG(co_firstlineno, code_object.firstlineno);
	DBG(co_localsplusnames, code_object.localsplusnames);
	DBG(co_code_adaptive, code_object.co_code_adaptive);
	DBG(ob_type, pyobject.ob_type);
	DBG(tp_size, type_object.size);
	DBG(tp_name, type_object.tp_name);
	DBG(tp_flags, type_object.tp_flags);
	DBG(tuple_item, tuple_object.ob_item);
	DBG(list_item, list_object.ob_item);
	DBG(dict_keys, dict_object.ma_keys);
	DBG(dict_values, dict_object.ma_values);
	DBG(long_tag, long_object.lv_tag);
	DBG(long_digit, long_object.ob_digit);
	DBG(bytes_sval, bytes_object.ob_sval);
	DBG(str_state, unicode_object.state);
	DBG(str_ascii_size, unicode_object.asciiobject_size);
	DBG(is_ceval_gil, interpreter_state.ceval_gil);
	DBG(is_gil, interpreter_state.gil_runtime_state);
	DBG(is_gil_locked, interpreter_state.gil_runtime_state_locked);
	DBG(is_gil_holder, interpreter_state.gil_runtime_state_holder);
#if PY_MINOR_VERSION >= 14
	DBG(gen_size, gen_object.size);
	DBG(gen_iframe, gen_object.gi_iframe);
	DBG(gen_frame_state, gen_object.gi_frame_state);
	is(L->gen_size, sizeof(PyGenObject), "gen_size");
#endif
	/* the structs the table's own offsets go into */
	is(L->fr_size, sizeof(_PyInterpreterFrame), "fr_size");
	is(L->co_size, sizeof(PyCodeObject), "co_size");
	is(L->tp_size, sizeof(PyTypeObject), "tp_size");
#else
	is(!!L->debug, 0, "no _Py_DebugOffsets");
#endif
	printf("1..%d\n", n);
	if (failed)
		printf("# %d of %d offsets differ from Python %d.%d's headers\n", failed, n,
		       PY_MAJOR_VERSION, PY_MINOR_VERSION);
	return !!failed;
}
