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
    runstack_t *s = PyMem_RawCalloc(1, sizeof(*s));   /* tls_runs NULL: free */
    if (s == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    tls_runs = s;
    PyMem_RawFree(PyMem_RawMalloc(1));   /* depth 0: seen, not charged */
    if (!s->seen) {
        tls_runs = NULL;
        PyMem_RawFree(s);
        return 0;
    }
    return 1;
}

static void
pop_runstack(void)
{
    runstack_t *s = tls_runs;
    tls_runs = NULL;   /* first, so that freeing s is not accounted */
    PyMem_RawFree(s);
}

/* The innermost frame of this thread, or NULL outside a run. */
static frame_t *
top_frame(void)
{
    runstack_t *s = tls_runs;
    return s != NULL && s->depth > 0 ? &s->frames[s->depth - 1] : NULL;
}

static PyObject *
memory_begin(PyObject *Py_UNUSED(module), PyObject *arg)
{
    Py_ssize_t limit = PyLong_AsSsize_t(arg);
    if (limit == -1 && PyErr_Occurred()) {
        return NULL;
    }
    if (!hooks_installed) {
        PyErr_SetString(PyExc_RuntimeError,
                        "memory accounting is unavailable: unsupported allocator "
                        "(debug hooks, mimalloc, or tracemalloc started before "
                        "the import); use the default one or PYTHONMALLOC=malloc");
        return NULL;
    }
    if (tls_runs == NULL) {
        int live = push_runstack();
        if (live <= 0) {
            if (live == 0) {
                PyErr_SetString(PyExc_RuntimeError, "memory accounting hooks "
                                "were removed by another allocator hook");
            }
            return NULL;
        }
    }
    runstack_t *s = tls_runs;
    if (s->depth == MAX_DEPTH) {
        PyErr_Format(PyExc_RuntimeError,
                     "memory accounting runs nested deeper than %d", MAX_DEPTH);
        return NULL;
    }
    s->frames[s->depth] = (frame_t){.limit = limit < 0 ? -1 : limit};
    s->depth++;   /* last: the frame counts from here on */
    Py_RETURN_NONE;
}

static PyObject *
memory_end(PyObject *Py_UNUSED(module), PyObject *Py_UNUSED(ignored))
{
    frame_t *top = top_frame();
    if (top == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "end() without a matching begin()");
        return NULL;
    }
    frame_t f = *top;
    if (--tls_runs->depth == 0) {
        pop_runstack();
    }
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

PyDoc_STRVAR(begin_doc, "begin($module, limit, /)\n--\n\n"
"Start accounting on this thread with a budget of limit bytes (< 0: no limit).\n"
"Runs nest up to 16 deep; an allocation counts toward every active run.");
PyDoc_STRVAR(end_doc, "end($module, /)\n--\n\n"
"Stop the innermost run on this thread; return (net, peak, exceeded).");
PyDoc_STRVAR(usage_doc, "usage($module, /)\n--\n\n"
"(net, peak) of the innermost run on this thread, or (0, 0) outside a run.");
PyDoc_STRVAR(exceeded_doc, "exceeded($module, /)\n--\n\n"
"Whether the innermost run on this thread refused an allocation for its limit.");
PyDoc_STRVAR(installed_doc, "installed($module, /)\n--\n\n"
"Whether the allocator hooks are installed and reached by allocations.");

static PyMethodDef memory_methods[] = {
    {"begin", memory_begin, METH_O, begin_doc},
    {"end", memory_end, METH_NOARGS, end_doc},
    {"usage", memory_usage, METH_NOARGS, usage_doc},
    {"exceeded", memory_exceeded, METH_NOARGS, exceeded_doc},
    {"installed", memory_installed, METH_NOARGS, installed_doc},
    {NULL, NULL, 0, NULL},
};

static int
memory_exec(PyObject *Py_UNUSED(module))
{
    (void)pthread_once(&install_once, install_hooks);
    return 0;
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
