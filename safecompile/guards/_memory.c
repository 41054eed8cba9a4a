/* safecompile.guards._memory: per-thread accounting of the memory a sandboxed
 * run allocates, with a byte budget enforced at allocation time.
 *
 * Hooks are installed once, at the first module exec, and never removed;
 * they chain to the allocators current then.  Which ones depends on what is
 * found (told apart with public API only, by comparing allocator structs):
 *
 *   pymalloc (default release build; no ctx, MEM == OBJ != RAW): RAW and the
 *     arena allocator.  pymalloc serves MEM/OBJ requests up to 512 bytes from
 *     arenas and passes larger ones to PyMem_RawMalloc, so RAW + arenas see
 *     every byte; hooking MEM/OBJ as well would count memory twice.
 *   malloc (PYTHONMALLOC=malloc; no ctx, RAW == MEM == OBJ): MEM and OBJ call
 *     malloc directly, not RAW, so all three domains get the same hooks, and
 *     the arena allocator too (CPython takes its frame data stack there).
 *   anything else (debug hooks from PYTHONMALLOC=*_debug, -X dev or a debug
 *     build; mimalloc; tracemalloc or another wrapper started before the
 *     import): nothing is installed, installed() is False and begin() raises
 *     RuntimeError: their blocks cannot be sized by malloc_usable_size(), so
 *     frees could not be credited.  An embedder's own ctx-less allocator set
 *     before Py_Initialize would pass for one of the two above: unsupported.
 *
 * Accounting state hangs off a thread-local pointer, so the hooks (RAW ones
 * may run without the GIL) take no lock, and a thread outside a run pays one
 * thread-local load.  The other globals are written once, in pthread_once(),
 * before the hooks that read them are installed.
 *
 * Sizes: on glibc, malloc_usable_size() of the block, on allocation and on
 * free; arenas count the size their hooks are given.  Without glibc,
 * allocations are charged the size requested and frees are NOT credited
 * (no portable way to size a block), so net only grows there.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>


#include <structmember.h>
#if PY_VERSION_HEX >= 0x030C0000
#  define PyErr_GetRaisedException_compat() PyErr_GetRaisedException()
#  define Py_T_PYSSIZET_compat Py_T_PYSSIZET
#  define Py_READONLY_compat Py_READONLY
#else
#  define Py_T_PYSSIZET_compat T_PYSSIZET
#  define Py_READONLY_compat READONLY
static PyObject *
PyErr_GetRaisedException_compat(void)
{
    PyObject *type, *value, *tb;
    PyErr_Fetch(&type, &value, &tb);
    if (type == NULL) {
        return NULL;
    }
    PyErr_NormalizeException(&type, &value, &tb);
    if (tb != NULL) {
        PyException_SetTraceback(value, tb);
    }
    Py_DECREF(type);
    Py_XDECREF(tb);
    return value;
}
#endif
#include <pthread.h>
#include <stdint.h>
#ifdef __GLIBC__
#  include <malloc.h>
#  define ALLOC_SIZE(p, requested) malloc_usable_size(p)
#  define FREED_SIZE(p) ((p) != NULL ? malloc_usable_size(p) : 0)
#else
#  define ALLOC_SIZE(p, requested) (requested)
#  define FREED_SIZE(p) ((size_t)0)
#endif

#define MAX_DEPTH 16

typedef struct {
    Py_ssize_t limit;   /* bytes; < 0 means unlimited */
    Py_ssize_t net;     /* allocated minus freed since begin(); may be < 0 */
    Py_ssize_t peak;    /* highest net seen, starting at 0 */
    int exceeded;       /* an allocation was refused for this limit */
} frame_t;

typedef struct {
    int depth;          /* active frames; frames[0] is the outermost */
    int seen;           /* set by hook_malloc: the liveness probe */
    frame_t frames[MAX_DEPTH];
} runstack_t;

/* NULL on a thread outside any run.  initial-exec: a load from the thread
 * pointer, not a __tls_get_addr() call, on every allocation of every thread
 * (8 bytes of the static TLS surplus glibc keeps for dlopen()ed objects). */
#if defined(__GNUC__) && defined(__ELF__)
static _Thread_local runstack_t *tls_runs __attribute__((tls_model("initial-exec")));
#else
static _Thread_local runstack_t *tls_runs;
#endif

/* The run stack tls_runs points to while a run is open: thread-local
 * storage of the default (dynamic) model, so it costs no allocation per run
 * and glibc frees it with the thread. */
static _Thread_local runstack_t tls_stack;

/* Written once in pthread_once(install_hooks), read-only afterwards. */
static pthread_once_t install_once = PTHREAD_ONCE_INIT;
static int hooks_installed;
static PyMemAllocatorEx prev_raw;
static PyObjectArenaAllocator prev_arena;

/* Would `size` more bytes take some frame past its limit?  Flags each such
 * frame.  `limit - size` cannot overflow: limit >= 0, size <= PY_SSIZE_T_MAX. */
static int
refuse(runstack_t *s, size_t size)
{
    int refused = 0;
    for (int i = 0; i < s->depth; i++) {
        frame_t *f = &s->frames[i];
        if (f->limit >= 0 && (size > (size_t)PY_SSIZE_T_MAX
                              || f->net > f->limit - (Py_ssize_t)size)) {
            f->exceeded = 1;
            refused = 1;
        }
    }
    return refused;
}

/* Add delta (negative for frees) to every active frame. */
static void
charge(runstack_t *s, Py_ssize_t delta)
{
    for (int i = 0; i < s->depth; i++) {
        frame_t *f = &s->frames[i];
        f->net += delta;
        if (f->net > f->peak) {
            f->peak = f->net;
        }
    }
}

/* The hooks ignore ctx and call prev_raw: our struct has a NULL ctx like the
 * one it replaces, so a thread reading a domain's struct while
 * PyMem_SetAllocator() copies it gets a working (function, ctx) pair. */
static void *
hook_malloc(void *ctx, size_t size)
{
    runstack_t *s = tls_runs;
    (void)ctx;
    if (s == NULL) {
        return prev_raw.malloc(prev_raw.ctx, size);
    }
    s->seen = 1;
    if (refuse(s, size)) {
        return NULL;   /* the caller raises MemoryError */
    }
    void *p = prev_raw.malloc(prev_raw.ctx, size);
    if (p != NULL) {
        charge(s, (Py_ssize_t)ALLOC_SIZE(p, size));
    }
    return p;
}

static void *
hook_calloc(void *ctx, size_t nelem, size_t elsize)
{
    runstack_t *s = tls_runs;
    (void)ctx;
    if (s == NULL) {
        return prev_raw.calloc(prev_raw.ctx, nelem, elsize);
    }
    if (elsize != 0 && nelem > SIZE_MAX / elsize) {
        return NULL;   /* overflow: no such block can exist, not a budget matter */
    }
    size_t size = nelem * elsize;
    if (refuse(s, size)) {
        return NULL;
    }
    void *p = prev_raw.calloc(prev_raw.ctx, nelem, elsize);
    if (p != NULL) {
        charge(s, (Py_ssize_t)ALLOC_SIZE(p, size));
    }
    return p;
}

static void *
hook_realloc(void *ctx, void *ptr, size_t size)
{
    runstack_t *s = tls_runs;
    (void)ctx;
    if (s == NULL) {
        return prev_raw.realloc(prev_raw.ctx, ptr, size);
    }
    size_t old_size = FREED_SIZE(ptr);
    /* Only growth is refused; ptr is then left valid and untouched. */
    if (size > old_size && refuse(s, size - old_size)) {
        return NULL;
    }
    void *p = prev_raw.realloc(prev_raw.ctx, ptr, size);
    if (p != NULL) {
        charge(s, (Py_ssize_t)ALLOC_SIZE(p, size) - (Py_ssize_t)old_size);
    }
    return p;
}

static void
hook_free(void *ctx, void *ptr)
{
    runstack_t *s = tls_runs;
    (void)ctx;
    if (s != NULL && ptr != NULL) {
        charge(s, -(Py_ssize_t)FREED_SIZE(ptr));   /* sized before it is freed */
    }
    prev_raw.free(prev_raw.ctx, ptr);
}

/* Arenas are mmap()ed whole: their size is their footprint, and the free
 * hook is given it. */
static void *
hook_arena_alloc(void *ctx, size_t size)
{
    runstack_t *s = tls_runs;
    (void)ctx;
    if (s == NULL) {
        return prev_arena.alloc(prev_arena.ctx, size);
    }
    if (refuse(s, size)) {
        return NULL;
    }
    void *p = prev_arena.alloc(prev_arena.ctx, size);
    if (p != NULL) {
        charge(s, (Py_ssize_t)size);
    }
    return p;
}

static void
hook_arena_free(void *ctx, void *ptr, size_t size)
{
    runstack_t *s = tls_runs;
    (void)ctx;
    if (s != NULL && ptr != NULL) {
        charge(s, -(Py_ssize_t)size);
    }
    prev_arena.free(prev_arena.ctx, ptr, size);
}

static int
same_allocator(const PyMemAllocatorEx *a, const PyMemAllocatorEx *b)
{
    return a->ctx == b->ctx && a->malloc == b->malloc && a->calloc == b->calloc
           && a->realloc == b->realloc && a->free == b->free;
}

/* Once per process, through pthread_once(): see the header. */
static void
install_hooks(void)
{
    PyMemAllocatorEx raw, mem, obj;
    PyMemAllocatorEx hook = {NULL, hook_malloc, hook_calloc, hook_realloc, hook_free};
    PyObjectArenaAllocator arena_hook = {NULL, hook_arena_alloc, hook_arena_free};

    PyMem_GetAllocator(PYMEM_DOMAIN_RAW, &raw);
    PyMem_GetAllocator(PYMEM_DOMAIN_MEM, &mem);
    PyMem_GetAllocator(PYMEM_DOMAIN_OBJ, &obj);
    if (raw.ctx != NULL || mem.ctx != NULL || !same_allocator(&mem, &obj)) {
        return;   /* debug hooks, tracemalloc, mimalloc, ...: unsupported */
    }
    prev_raw = raw;
    PyObject_GetArenaAllocator(&prev_arena);
    PyObject_SetArenaAllocator(&arena_hook);
    if (same_allocator(&mem, &raw)) {   /* malloc */
        PyMem_SetAllocator(PYMEM_DOMAIN_MEM, &hook);
        PyMem_SetAllocator(PYMEM_DOMAIN_OBJ, &hook);
    }
    PyMem_SetAllocator(PYMEM_DOMAIN_RAW, &hook);
    hooks_installed = 1;
}

/* Give this thread a run stack with no frame yet, and check with a one-byte
 * allocation that PyMem_RawMalloc still reaches hook_malloc: restoring an
 * allocator saved before our install (e.g. a tracemalloc.start() before the
 * import, stopped after it) unhooks us, and a sandbox must not then run
 * unmetered.  1: live (tls_runs set); 0: not; -1: MemoryError set. */
static int
push_runstack(void)
{
    runstack_t *s = &tls_stack;
    s->depth = 0;
    s->seen = 0;
    tls_runs = s;
    void *probe = PyMem_RawMalloc(1);   /* depth 0: seen, not charged */
    if (probe == NULL) {
        tls_runs = NULL;
        PyErr_NoMemory();
        return -1;
    }
    PyMem_RawFree(probe);
    if (!s->seen) {
        tls_runs = NULL;
        return 0;
    }
    return 1;
}

static void
pop_runstack(void)
{
    tls_runs = NULL;
}

/* The innermost frame of this thread, or NULL outside a run. */
static frame_t *
top_frame(void)
{
    runstack_t *s = tls_runs;
    return s != NULL && s->depth > 0 ? &s->frames[s->depth - 1] : NULL;
}

/* Open a frame with a budget of limit bytes: 0, or -1 with an exception. */
static int
open_frame(Py_ssize_t limit)
{
    if (!hooks_installed) {
        PyErr_SetString(PyExc_RuntimeError,
                        "memory accounting is unavailable: unsupported allocator "
                        "(debug hooks, mimalloc, or tracemalloc started before "
                        "the import); use the default one or PYTHONMALLOC=malloc");
        return -1;
    }
    if (tls_runs == NULL) {
        int live = push_runstack();
        if (live <= 0) {
            if (live == 0) {
                PyErr_SetString(PyExc_RuntimeError, "memory accounting hooks "
                                "were removed by another allocator hook");
            }
            return -1;
        }
    }
    runstack_t *s = tls_runs;
    if (s->depth == MAX_DEPTH) {
        PyErr_Format(PyExc_RuntimeError,
                     "memory accounting runs nested deeper than %d", MAX_DEPTH);
        return -1;
    }
    s->frames[s->depth] = (frame_t){.limit = limit < 0 ? -1 : limit};
    s->depth++;   /* last: the frame counts from here on */
    return 0;
}

/* Close the innermost frame (one is open) and return it. */
static frame_t
close_frame(void)
{
    frame_t f = tls_runs->frames[tls_runs->depth - 1];
    if (--tls_runs->depth == 0) {
        pop_runstack();
    }
    return f;
}

static PyObject *
memory_begin(PyObject *Py_UNUSED(module), PyObject *arg)
{
    Py_ssize_t limit = PyLong_AsSsize_t(arg);
    if (limit == -1 && PyErr_Occurred()) {
        return NULL;
    }
    if (open_frame(limit) < 0) {
        return NULL;
    }
    Py_RETURN_NONE;
}

/* eval(limit, code, globals, locals): evaluate code in a run of its own
 * (begin, PyEval_EvalCode, end in one call: the formula fast path). */
static PyObject *
memory_eval(PyObject *Py_UNUSED(module), PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 4) {
        PyErr_Format(PyExc_TypeError, "eval() takes 4 arguments (%zd given)", nargs);
        return NULL;
    }
    Py_ssize_t limit = PyLong_AsSsize_t(args[0]);
    if (limit == -1 && PyErr_Occurred()) {
        return NULL;
    }
    if (!PyCode_Check(args[1])) {
        PyErr_SetString(PyExc_TypeError, "eval() needs a code object");
        return NULL;
    }
    if (!PyDict_Check(args[2])) {
        PyErr_SetString(PyExc_TypeError, "eval() globals must be a dict");
        return NULL;
    }
    if (!PyMapping_Check(args[3])) {
        PyErr_SetString(PyExc_TypeError, "eval() locals must be a mapping");
        return NULL;
    }
    if (open_frame(limit) < 0) {
        return NULL;
    }
    PyObject *result = PyEval_EvalCode(args[1], args[2], args[3]);
    (void)close_frame();
    return result;
}

static PyObject *
memory_end(PyObject *Py_UNUSED(module), PyObject *Py_UNUSED(ignored))
{
    if (top_frame() == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "end() without a matching begin()");
        return NULL;
    }
    frame_t f = close_frame();
    /* Built after the pop: an enclosing run pays for the result. */
    return Py_BuildValue("(nnO)", f.net, f.peak, f.exceeded ? Py_True : Py_False);
}

static PyObject *
memory_usage(PyObject *Py_UNUSED(module), PyObject *Py_UNUSED(ignored))
{
    frame_t *top = top_frame();
    return Py_BuildValue("(nn)", top ? top->net : 0, top ? top->peak : 0);
}

static PyObject *
memory_exceeded(PyObject *Py_UNUSED(module), PyObject *Py_UNUSED(ignored))
{
    frame_t *top = top_frame();
    return PyBool_FromLong(top != NULL && top->exceeded);
}

static PyObject *
memory_installed(PyObject *Py_UNUSED(module), PyObject *Py_UNUSED(ignored))
{
    if (!hooks_installed) {
        Py_RETURN_FALSE;
    }
    if (tls_runs != NULL) {
        Py_RETURN_TRUE;   /* probed by the begin() that opened the run */
    }
    int live = push_runstack();
    if (live < 0) {
        return NULL;
    }
    if (live) {
        pop_runstack();
    }
    return PyBool_FromLong(live);
}

/* --- Formula: the formula fast path's call, in C -------------------------
 *
 * Formula(code, globals, inputs, guards, scalars, limit, fallback, on_error)
 * is called as formula(values) with a dict (or None, or nothing).  When every
 * input it reads holds a value whose exact type is one of `scalars`, and no
 * key of `values` is one of `guards`, it evaluates `code` with `globals` and
 * `values` as the locals inside a memory run of `limit` bytes, as eval() and
 * memory.eval() would.  Anything else (keyword arguments, a mapping that is
 * not exactly a dict, a non-scalar input, a guard name) goes to
 * fallback(*args, **kwargs), the pure-Python twin that decides the same way
 * and takes the full path where needed.  An exception from the evaluation
 * is handed to on_error(exc), which raises the error the caller sees.
 */

#define FORMULA_MAX_SCALARS 16

typedef struct {
    PyObject_HEAD
    PyObject *code;
    PyObject *globals;
    PyObject *inputs;     /* tuple of str */
    PyObject *guards;     /* tuple of str */
    PyObject *scalars;    /* tuple of types, kept alive for the array below */
    PyTypeObject *scalar_types[FORMULA_MAX_SCALARS];
    Py_ssize_t n_scalars;
    Py_ssize_t limit;
    PyObject *fallback;
    PyObject *on_error;
    PyObject *empty;      /* {} for formula() and formula(None) */
    vectorcallfunc vectorcall;
} FormulaObject;

static int
formula_traverse(FormulaObject *self, visitproc visit, void *arg)
{
    Py_VISIT(self->code);
    Py_VISIT(self->globals);
    Py_VISIT(self->inputs);
    Py_VISIT(self->guards);
    Py_VISIT(self->scalars);
    Py_VISIT(self->fallback);
    Py_VISIT(self->on_error);
    Py_VISIT(self->empty);
    return 0;
}

static int
formula_clear(FormulaObject *self)
{
    Py_CLEAR(self->code);
    Py_CLEAR(self->globals);
    Py_CLEAR(self->inputs);
    Py_CLEAR(self->guards);
    Py_CLEAR(self->scalars);
    Py_CLEAR(self->fallback);
    Py_CLEAR(self->on_error);
    Py_CLEAR(self->empty);
    self->n_scalars = 0;
    return 0;
}

static void
formula_dealloc(FormulaObject *self)
{
    PyTypeObject *tp = Py_TYPE(self);
    PyObject_GC_UnTrack(self);
    (void)formula_clear(self);
    tp->tp_free((PyObject *)self);
    Py_DECREF(tp);
}

static int
all_str(PyObject *tuple, const char *what)
{
    if (!PyTuple_CheckExact(tuple)) {
        PyErr_Format(PyExc_TypeError, "Formula() %s must be a tuple", what);
        return 0;
    }
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(tuple); i++) {
        if (!PyUnicode_CheckExact(PyTuple_GET_ITEM(tuple, i))) {
            PyErr_Format(PyExc_TypeError, "Formula() %s must hold str only", what);
            return 0;
        }
    }
    return 1;
}

static PyObject *
formula_call_fallback(FormulaObject *self, PyObject *const *args, size_t nargsf,
                      PyObject *kwnames)
{
    return PyObject_Vectorcall(self->fallback, args, nargsf, kwnames);
}

static PyObject *
formula_vectorcall(PyObject *callable, PyObject *const *args, size_t nargsf,
                   PyObject *kwnames)
{
    FormulaObject *self = (FormulaObject *)callable;
    Py_ssize_t nargs = PyVectorcall_NARGS(nargsf);
    if (kwnames != NULL || nargs > 1 || !hooks_installed) {
        return formula_call_fallback(self, args, nargsf, kwnames);
    }
    PyObject *scope = (nargs == 0 || args[0] == Py_None) ? self->empty : args[0];
    if (!PyDict_CheckExact(scope)) {
        return formula_call_fallback(self, args, nargsf, kwnames);
    }
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(self->guards); i++) {
        int has = PyDict_Contains(scope, PyTuple_GET_ITEM(self->guards, i));
        if (has < 0) {
            return NULL;
        }
        if (has) {
            return formula_call_fallback(self, args, nargsf, kwnames);
        }
    }
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(self->inputs); i++) {
        PyObject *value = PyDict_GetItemWithError(scope, PyTuple_GET_ITEM(self->inputs, i));
        if (value == NULL) {
            if (PyErr_Occurred()) {
                return NULL;
            }
            continue;   /* missing: the evaluation raises NameError */
        }
        PyTypeObject *type = Py_TYPE(value);
        Py_ssize_t k = 0;
        while (k < self->n_scalars && self->scalar_types[k] != type) {
            k++;
        }
        if (k == self->n_scalars) {
            return formula_call_fallback(self, args, nargsf, kwnames);
        }
    }
    /* The scope stays alive: the caller holds args[0], self holds empty. */
    if (open_frame(self->limit) < 0) {
        return NULL;
    }
    PyObject *result = PyEval_EvalCode(self->code, self->globals, scope);
    (void)close_frame();
    if (result != NULL) {
        return result;
    }
    PyObject *exc = PyErr_GetRaisedException_compat();
    if (exc == NULL) {
        return NULL;
    }
    PyObject *raised = PyObject_CallOneArg(self->on_error, exc);
    Py_DECREF(exc);
    if (raised != NULL) {   /* on_error must raise; returning is a bug */
        Py_DECREF(raised);
        PyErr_SetString(PyExc_SystemError, "Formula on_error returned instead of raising");
    }
    return NULL;
}

static PyObject *
formula_new(PyTypeObject *type, PyObject *args, PyObject *kwds)
{
    PyObject *code, *globals, *inputs, *guards, *scalars, *fallback, *on_error;
    Py_ssize_t limit;
    static char *kwlist[] = {"code", "globals", "inputs", "guards", "scalars",
                             "limit", "fallback", "on_error", NULL};
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "O!O!OOO!nOO:Formula", kwlist,
                                     &PyCode_Type, &code, &PyDict_Type, &globals,
                                     &inputs, &guards, &PyTuple_Type, &scalars,
                                     &limit, &fallback, &on_error)) {
        return NULL;
    }
    if (!all_str(inputs, "inputs") || !all_str(guards, "guards")) {
        return NULL;
    }
    Py_ssize_t n = PyTuple_GET_SIZE(scalars);
    if (n > FORMULA_MAX_SCALARS) {
        PyErr_Format(PyExc_ValueError, "Formula() takes at most %d scalar types",
                     FORMULA_MAX_SCALARS);
        return NULL;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        if (!PyType_Check(PyTuple_GET_ITEM(scalars, i))) {
            PyErr_SetString(PyExc_TypeError, "Formula() scalars must hold types only");
            return NULL;
        }
    }
    if (!PyCallable_Check(fallback) || !PyCallable_Check(on_error)) {
        PyErr_SetString(PyExc_TypeError, "Formula() fallback and on_error must be callable");
        return NULL;
    }
    PyObject *empty = PyDict_New();
    if (empty == NULL) {
        return NULL;
    }
    FormulaObject *self = (FormulaObject *)type->tp_alloc(type, 0);
    if (self == NULL) {
        Py_DECREF(empty);
        return NULL;
    }
    self->code = Py_NewRef(code);
    self->globals = Py_NewRef(globals);
    self->inputs = Py_NewRef(inputs);
    self->guards = Py_NewRef(guards);
    self->scalars = Py_NewRef(scalars);
    for (Py_ssize_t i = 0; i < n; i++) {
        self->scalar_types[i] = (PyTypeObject *)PyTuple_GET_ITEM(scalars, i);
    }
    self->n_scalars = n;
    self->limit = limit < 0 ? -1 : limit;
    self->fallback = Py_NewRef(fallback);
    self->on_error = Py_NewRef(on_error);
    self->empty = empty;
    self->vectorcall = formula_vectorcall;
    return (PyObject *)self;
}

static PyMemberDef formula_members[] = {
    {"__vectorcalloffset__", Py_T_PYSSIZET_compat, offsetof(FormulaObject, vectorcall), Py_READONLY_compat, NULL},
    {NULL, 0, 0, 0, NULL},
};

PyDoc_STRVAR(formula_doc,
"Formula(code, globals, inputs, guards, scalars, limit, fallback, on_error)\n--\n\n"
"The formula fast path's call: formula(values) evaluates code with values as\n"
"the locals inside a memory run of limit bytes when values is a dict whose\n"
"inputs hold scalars only; everything else goes to fallback.");

static PyType_Slot formula_slots[] = {
    {Py_tp_new, formula_new},
    {Py_tp_dealloc, formula_dealloc},
    {Py_tp_traverse, formula_traverse},
    {Py_tp_clear, formula_clear},
    {Py_tp_call, PyVectorcall_Call},
    {Py_tp_members, formula_members},
    {Py_tp_doc, (void *)formula_doc},
    {0, NULL},
};

static PyType_Spec formula_spec = {
    .name = "safecompile.guards._memory.Formula",
    .basicsize = sizeof(FormulaObject),
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_HAVE_VECTORCALL
             | Py_TPFLAGS_IMMUTABLETYPE,
    .slots = formula_slots,
};

PyDoc_STRVAR(begin_doc, "begin($module, limit, /)\n--\n\n"
"Start accounting on this thread with a budget of limit bytes (< 0: no limit).\n"
"Runs nest up to 16 deep; an allocation counts toward every active run.");
PyDoc_STRVAR(end_doc, "end($module, /)\n--\n\n"
"Stop the innermost run on this thread; return (net, peak, exceeded).");
PyDoc_STRVAR(eval_doc, "eval($module, limit, code, globals, locals, /)\n--\n\n"
"Evaluate code (as eval() does) inside a run of its own with a budget of limit\n"
"bytes: begin(), eval, end() in one call.");
PyDoc_STRVAR(usage_doc, "usage($module, /)\n--\n\n"
"(net, peak) of the innermost run on this thread, or (0, 0) outside a run.");
PyDoc_STRVAR(exceeded_doc, "exceeded($module, /)\n--\n\n"
"Whether the innermost run on this thread refused an allocation for its limit.");
PyDoc_STRVAR(installed_doc, "installed($module, /)\n--\n\n"
"Whether the allocator hooks are installed and reached by allocations.");

static PyMethodDef memory_methods[] = {
    {"begin", memory_begin, METH_O, begin_doc},
    {"end", memory_end, METH_NOARGS, end_doc},
    {"eval", (PyCFunction)(void (*)(void))memory_eval, METH_FASTCALL, eval_doc},
    {"usage", memory_usage, METH_NOARGS, usage_doc},
    {"exceeded", memory_exceeded, METH_NOARGS, exceeded_doc},
    {"installed", memory_installed, METH_NOARGS, installed_doc},
    {NULL, NULL, 0, NULL},
};

static int
memory_exec(PyObject *module)
{
    (void)pthread_once(&install_once, install_hooks);
    PyObject *formula = PyType_FromModuleAndSpec(module, &formula_spec, NULL);
    if (formula == NULL) {
        return -1;
    }
    int status = PyModule_AddObjectRef(module, "Formula", formula);
    Py_DECREF(formula);
    return status;
}

/* Py_mod_gil keeps its default: not declared safe for the free-threaded
 * build, untested there (and its mimalloc is unsupported anyway). */
static PyModuleDef_Slot memory_slots[] = {
    {Py_mod_exec, memory_exec},
    {0, NULL},
};

static struct PyModuleDef memory_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "safecompile.guards._memory",
    .m_doc = "Per-thread accounting and limiting of the memory a sandboxed run allocates.",
    .m_size = 0,
    .m_methods = memory_methods,
    .m_slots = memory_slots,
};

PyMODINIT_FUNC
PyInit__memory(void)
{
    return PyModuleDef_Init(&memory_module);
}
