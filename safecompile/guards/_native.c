/*
 * safecompile.guards._native -- the C twins of the hot run-time guards.
 *
 * Every type here has a pure-Python twin in _pure.py with the same names,
 * signatures, semantics and exceptions; tests/guards/ drives both with the
 * same operations and compares the outcomes.  Change both or neither.
 *
 * Rules for this file:
 *   - no global mutable state: everything lives in an instance or in the
 *     module state (the types are heap types made from specs in the exec
 *     slot, so the module supports multi-phase init and subinterpreters);
 *   - reference counting: a function that owns references on its error
 *     path cleans them up at one `error:` label;
 *   - none of the types is subclassable (no Py_TPFLAGS_BASETYPE) and none
 *     is mutable (Py_TPFLAGS_IMMUTABLETYPE), because sandboxed code must
 *     not be able to change their behaviour.
 *
 * Sections:
 *   1. Module state and object layouts
 *   2. Helpers (clock, argument errors)
 *   3. Budget: the step / time / recursion counter
 *   4. TickIter: the iterator returned by Budget.iterate()
 *   5. The module
 */

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <errno.h>
#include <stdint.h>
#include <time.h>

#if PY_VERSION_HEX < 0x030B0000
#  error "safecompile.guards._native needs CPython 3.11 or later"
#endif

#if defined(__GNUC__)
#  define UNLIKELY(x) __builtin_expect(!!(x), 0)
#else
#  define UNLIKELY(x) (x)
#endif


/* ======================================================================
 * 1. Module state and object layouts
 * ==================================================================== */

typedef struct {
    PyTypeObject *budget_type;
    PyTypeObject *tickiter_type;
} native_state;

typedef struct {
    PyObject_HEAD
    Py_ssize_t steps;           /* ticks counted so far */
    Py_ssize_t steps_limit;     /* PY_SSIZE_T_MAX when unlimited */
    int clock;                  /* ticks left until the next clock read */
    int recursion_limit;        /* < 0: unlimited */
    int base_depth;             /* creation_depth() */
    double deadline;            /* a time.monotonic() instant; inf: none */
    double started;             /* time.monotonic() when the Budget was made */
    PyObject *spent;            /* NULL, or the tuple (limit, allowed, used) */
    PyObject *error;            /* limit_error, an exception class */
} BudgetObject;

/* Made only by Budget.iterate(); not constructible from Python. */
typedef struct {
    PyObject_HEAD
    BudgetObject *budget;       /* always set */
    PyObject *it;               /* the underlying iterator; NULL once cleared */
} TickIterObject;

static inline native_state *
get_state(PyObject *module)
{
    return (native_state *)PyModule_GetState(module);
}


/* ======================================================================
 * 2. Helpers
 * ==================================================================== */

/* How many ticks pass between two reads of the clock (as in _pure). */
#define CLOCK_EVERY 256

/* recursion_limit above this is refused: no Python stack gets that deep,
   and the pure twin's sys._getframe(base + limit) needs a C int. */
#define MAX_RECURSION_LIMIT 1000000000

/* The current time.monotonic() value, computed as CPython computes it on
   Linux: clock_gettime(CLOCK_MONOTONIC) in nanoseconds, then converted to
   seconds like _PyTime_AsSecondsDouble, so that both agree to the bit.
   Returns -1 with an OSError set on failure. */
static int
monotonic_now(double *now)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0) {
        PyErr_SetFromErrno(PyExc_OSError);
        return -1;
    }
    int64_t ns = (int64_t)ts.tv_sec * 1000000000 + (int64_t)ts.tv_nsec;
    if (ns % 1000000000 == 0) {
        *now = (double)(ns / 1000000000);
    }
    else {
        *now = (double)ns / 1e9;
    }
    return 0;
}

/* round(x, 3) as a Python float, exactly as the pure twin computes it. */
static PyObject *
round3(double x)
{
    PyObject *value = PyFloat_FromDouble(x);
    if (value == NULL) {
        return NULL;
    }
    PyObject *rounded = PyObject_CallMethod(value, "__round__", "i", 3);
    Py_DECREF(value);
    return rounded;
}

/* TypeError("<what> must be <expected>, not <type(got).__name__>").
   _pure.py raises the very same messages.  Always returns -1. */
static int
argument_type_error(const char *what, const char *expected, PyObject *got)
{
    PyObject *name = PyType_GetName(Py_TYPE(got));
    if (name == NULL) {
        return -1;
    }
    PyErr_Format(PyExc_TypeError, "%s must be %s, not %U", what, expected, name);
    Py_DECREF(name);
    return -1;
}

/* Recursion depth for enter(), in O(1).

   The pure twin counts the Python frames between the frame that created
   the Budget and the caller of enter() (a frame walk at each enter()).
   Here enter() reads the depth counter CPython keeps for the thread and
   compares it with a base taken once, at creation (creation_depth()):

   3.12+: py_recursion_limit - py_recursion_remaining counts the Python
   frames being executed (C recursion has its own counter), so the base is
   the length of the frame chain at creation, walked like _pure does.
   Exact for plain recursion and for recursion through C code, wherever
   the Budget was made.  Known differences, 3.13 only: the interpreter's
   hidden __init__ shim frame (pushed by a specialised call of a class
   whose __init__ is Python code) counts in the counter but not in the
   frame chain, so
     - recursion through a class whose __init__ recurses trips earlier
       (3 per level instead of 2);
     - a Budget made and used inside the same __init__ call allows one
       level less than _pure.  (Made in an __init__ and used after it
       returned, like RunBudget's, is exact.)

   3.11: recursion_limit - recursion_remaining counts the Python frames
   plus the C-level recursion guards in progress (Py_EnterRecursiveCall),
   and frames do not tell how many guards lie below them.  So the base is
   the counter itself at creation: the guard of the call to Budget() stands
   for the guard of the call to enter(), and the guards below the creating
   frame cancel out.  Plain recursion of Python functions trips at the same
   depth as in _pure.  Known differences, 3.11 only:
     - a Budget made by a frame that was itself called through such
       guards, gone by the time enter() runs, allows one more level per
       guard than _pure: one when made in a class's __init__ (RunBudget)
       or in a key function of sorted(), two through map(operator.call);
     - recursion that passes through C code counts the C guards on the way,
       so it trips earlier: a class whose __init__ recurses counts the class
       call (3 per level instead of 2), sorted(key=f) one more per level. */
static inline int
thread_depth(void)
{
    PyThreadState *tstate = PyThreadState_Get();
#if PY_VERSION_HEX >= 0x030C0000
    return tstate->py_recursion_limit - tstate->py_recursion_remaining;
#else
    return tstate->recursion_limit - tstate->recursion_remaining;
#endif
}

/* The base depth of a new Budget: what thread_depth() reads in an enter()
   called by the frame that creates the Budget.  O(depth) on 3.12+: it is
   only called by Budget(). */
static int
creation_depth(void)
{
#if PY_VERSION_HEX >= 0x030C0000
    int depth = 0;
    PyFrameObject *frame = PyThreadState_GetFrame(PyThreadState_Get());
    while (frame != NULL) {
        depth++;
        PyFrameObject *back = PyFrame_GetBack(frame);
        Py_DECREF(frame);
        frame = back;
    }
    return depth;
#else
    return thread_depth();
#endif
}


/* ======================================================================
 * 3. Budget
 * ==================================================================== */

/* Raise limit_error(*spent), as `raise self._error(*self._spent)` does.
   Always returns -1. */
static int
budget_raise(BudgetObject *self)
{
    PyObject *exc = PyObject_Call(self->error, self->spent, NULL);
    if (exc == NULL) {
        return -1;
    }
    if (PyExceptionInstance_Check(exc)) {
        PyErr_SetObject((PyObject *)Py_TYPE(exc), exc);
    }
    else {
        /* what `raise` says when limit_error() returns a non-exception */
        PyErr_SetString(PyExc_TypeError,
                        "exceptions must derive from BaseException");
    }
    Py_DECREF(exc);
    return -1;
}

/* Mark the budget spent with (limit, allowed, used) unless it already is
   (first reason wins), then raise, like `self.spend(...); raise ...` in
   _pure.  Steals the references to allowed and used, which may be NULL
   after a failed allocation.  Always returns -1. */
static int
budget_spend_and_raise(BudgetObject *self, const char *limit,
                       PyObject *allowed, PyObject *used)
{
    PyObject *name = NULL;
    if (allowed == NULL || used == NULL) {
        goto error;
    }
    if (self->spent == NULL) {
        name = PyUnicode_FromString(limit);
        if (name == NULL) {
            goto error;
        }
        self->spent = PyTuple_Pack(3, name, allowed, used);
        if (self->spent == NULL) {
            goto error;
        }
    }
    budget_raise(self);

error:
    Py_XDECREF(name);
    Py_XDECREF(allowed);
    Py_XDECREF(used);
    return -1;
}

/* The every-CLOCK_EVERY-ticks part of tick(): past the deadline? */
static int
budget_check_clock(BudgetObject *self)
{
    double now;
    if (monotonic_now(&now) < 0) {
        return -1;
    }
    if (now > self->deadline) {
        return budget_spend_and_raise(self, "time",
                                      round3(self->deadline - self->started),
                                      round3(now - self->started));
    }
    return 0;
}

/* tick(): 0, or -1 with the limit error set.  The hot path. */
static inline int
budget_tick(BudgetObject *self)
{
    if (UNLIKELY(self->spent != NULL)) {
        return budget_raise(self);
    }
    self->steps++;
    if (UNLIKELY(self->steps > self->steps_limit)) {
        return budget_spend_and_raise(self, "steps",
                                      PyLong_FromSsize_t(self->steps_limit),
                                      PyLong_FromSsize_t(self->steps));
    }
    self->clock--;
    if (UNLIKELY(self->clock <= 0)) {
        self->clock = CLOCK_EVERY;
        return budget_check_clock(self);
    }
    return 0;
}

static PyObject *
Budget_new(PyTypeObject *type, PyObject *args, PyObject *kwargs)
{
    /* never written to: keyword names for the parser */
    static char *kwlist[] = {"steps_limit", "deadline", "recursion_limit",
                             "limit_error", NULL};
    PyObject *steps_obj, *deadline_obj, *recursion_obj, *error;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "OOOO:Budget", kwlist,
                                     &steps_obj, &deadline_obj,
                                     &recursion_obj, &error)) {
        return NULL;
    }

    /* Check every argument first, in order, with _pure.py's messages. */
    int overflow;
    if (!PyLong_Check(steps_obj)) {
        argument_type_error("steps_limit", "an int", steps_obj);
        return NULL;
    }
    long long steps_limit = PyLong_AsLongLongAndOverflow(steps_obj, &overflow);
    if (steps_limit == -1 && PyErr_Occurred()) {
        return NULL;
    }
    /* negative: unlimited; larger than a Py_ssize_t: unreachable anyway */
    if (overflow != 0 || steps_limit < 0 || steps_limit > PY_SSIZE_T_MAX) {
        steps_limit = PY_SSIZE_T_MAX;
    }

    if (!PyFloat_Check(deadline_obj) && !PyLong_Check(deadline_obj)) {
        argument_type_error("deadline", "a float", deadline_obj);
        return NULL;
    }
    double deadline = PyFloat_AsDouble(deadline_obj);
    if (deadline == -1.0 && PyErr_Occurred()) {
        return NULL;                /* OverflowError for a huge int */
    }

    if (!PyLong_Check(recursion_obj)) {
        argument_type_error("recursion_limit", "an int", recursion_obj);
        return NULL;
    }
    long long recursion_limit = PyLong_AsLongLongAndOverflow(recursion_obj,
                                                             &overflow);
    if (recursion_limit == -1 && PyErr_Occurred()) {
        return NULL;
    }
    if (overflow > 0 || recursion_limit > MAX_RECURSION_LIMIT) {
        PyErr_Format(PyExc_OverflowError,
                     "recursion_limit must be at most %d", MAX_RECURSION_LIMIT);
        return NULL;
    }
    if (overflow < 0 || recursion_limit < 0) {
        recursion_limit = -1;
    }

    if (!PyExceptionClass_Check(error)) {
        argument_type_error("limit_error", "an exception class", error);
        return NULL;
    }

    double started;
    if (monotonic_now(&started) < 0) {
        return NULL;
    }

    /* tp_alloc zero-fills and starts GC tracking. */
    BudgetObject *self = (BudgetObject *)type->tp_alloc(type, 0);
    if (self == NULL) {
        return NULL;
    }
    self->steps = 0;
    self->steps_limit = (Py_ssize_t)steps_limit;
    self->clock = CLOCK_EVERY;
    self->recursion_limit = (int)recursion_limit;
    self->base_depth = creation_depth();
    self->deadline = deadline;
    self->started = started;
    self->spent = NULL;
    self->error = Py_NewRef(error);
    return (PyObject *)self;
}

static int
Budget_traverse(BudgetObject *self, visitproc visit, void *arg)
{
    Py_VISIT(Py_TYPE(self));
    Py_VISIT(self->spent);
    Py_VISIT(self->error);
    return 0;
}

/* Breaks cycles through `spent` (spend() takes any objects).  `error` is
   kept so that a cleared Budget can still raise: it is a class, and the
   class's own tp_clear breaks the cycles through its namespace. */
static int
Budget_clear(BudgetObject *self)
{
    Py_CLEAR(self->spent);
    return 0;
}

static void
Budget_dealloc(BudgetObject *self)
{
    PyTypeObject *type = Py_TYPE(self);
    PyObject_GC_UnTrack(self);
    Py_CLEAR(self->spent);
    Py_CLEAR(self->error);
    type->tp_free(self);
    Py_DECREF(type);            /* instances of heap types own their type */
}

static PyObject *
Budget_get_steps(BudgetObject *self, void *Py_UNUSED(closure))
{
    return PyLong_FromSsize_t(self->steps);
}

static PyObject *
Budget_get_spent(BudgetObject *self, void *Py_UNUSED(closure))
{
    if (self->spent == NULL) {
        Py_RETURN_NONE;
    }
    return Py_NewRef(self->spent);
}

static PyObject *
Budget_spend(BudgetObject *self, PyObject *args, PyObject *kwargs)
{
    static char *kwlist[] = {"limit", "allowed", "used", NULL};
    PyObject *limit, *allowed, *used;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "OOO:spend", kwlist,
                                     &limit, &allowed, &used)) {
        return NULL;
    }
    if (self->spent == NULL) {
        self->spent = PyTuple_Pack(3, limit, allowed, used);
        if (self->spent == NULL) {
            return NULL;
        }
    }
    Py_RETURN_NONE;
}

static PyObject *
Budget_raise_if_spent(BudgetObject *self, PyObject *Py_UNUSED(ignored))
{
    if (self->spent != NULL) {
        budget_raise(self);
        return NULL;
    }
    Py_RETURN_NONE;
}

static PyObject *
Budget_tick(BudgetObject *self, PyObject *Py_UNUSED(ignored))
{
    if (budget_tick(self) < 0) {
        return NULL;
    }
    Py_RETURN_NONE;
}

static PyObject *
Budget_enter(BudgetObject *self, PyObject *Py_UNUSED(ignored))
{
    if (budget_tick(self) < 0) {
        return NULL;
    }
    if (self->recursion_limit >= 0
        && thread_depth() - self->base_depth > self->recursion_limit)
    {
        budget_spend_and_raise(self, "recursion",
                               PyLong_FromLong(self->recursion_limit),
                               PyLong_FromLong((long)self->recursion_limit + 1));
        return NULL;
    }
    Py_RETURN_NONE;
}

static PyObject *
Budget_iterate(BudgetObject *self, PyObject *args, PyObject *kwargs)
{
    static char *kwlist[] = {"iterable", NULL};
    PyObject *iterable;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "O:iterate", kwlist,
                                     &iterable)) {
        return NULL;
    }
    /* Budget is not subclassable, so Py_TYPE(self) is the module's type. */
    native_state *state = PyType_GetModuleState(Py_TYPE(self));
    if (state == NULL) {
        return NULL;
    }
    PyObject *it = PyObject_GetIter(iterable);
    if (it == NULL) {
        return NULL;
    }
    /* tp_alloc zero-fills and starts GC tracking. */
    TickIterObject *result = (TickIterObject *)
        state->tickiter_type->tp_alloc(state->tickiter_type, 0);
    if (result == NULL) {
        goto error;
    }
    result->budget = (BudgetObject *)Py_NewRef(self);
    result->it = it;
    return (PyObject *)result;

error:
    Py_DECREF(it);
    return NULL;
}

PyDoc_STRVAR(Budget_doc,
"Budget(steps_limit, deadline, recursion_limit, limit_error)\n--\n\n"
"A step counter with a deadline and a recursion bound.\n\n"
"steps_limit/recursion_limit below 0 mean unlimited; deadline is a\n"
"time.monotonic() instant (inf for none).  limit_error is the exception\n"
"class raised: limit_error(limit, allowed, used).  Once spent, every\n"
"tick/enter/raise_if_spent raises again.");

static PyMethodDef Budget_methods[] = {
    {"spend", (PyCFunction)(void (*)(void))Budget_spend,
     METH_VARARGS | METH_KEYWORDS,
     "spend($self, /, limit, allowed, used)\n--\n\n"
     "Mark the budget spent (first reason wins) without raising."},
    {"raise_if_spent", (PyCFunction)Budget_raise_if_spent, METH_NOARGS,
     "raise_if_spent($self, /)\n--\n\n"
     "Raise limit_error(*spent) if the budget is spent."},
    {"tick", (PyCFunction)Budget_tick, METH_NOARGS,
     "tick($self, /)\n--\n\n"
     "Count one step; read the clock every CLOCK_EVERY steps."},
    {"enter", (PyCFunction)Budget_enter, METH_NOARGS,
     "enter($self, /)\n--\n\n"
     "A function entry: one step and the recursion bound."},
    {"iterate", (PyCFunction)(void (*)(void))Budget_iterate,
     METH_VARARGS | METH_KEYWORDS,
     "iterate($self, /, iterable)\n--\n\n"
     "An iterator over iterable that ticks once per item."},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef Budget_getset[] = {
    {"steps", (getter)Budget_get_steps, NULL, "Steps counted so far.", NULL},
    {"spent", (getter)Budget_get_spent, NULL,
     "None, or (limit, allowed, used) once the budget is spent.", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyType_Slot Budget_slots[] = {
    {Py_tp_new, Budget_new},
    {Py_tp_dealloc, Budget_dealloc},
    {Py_tp_traverse, Budget_traverse},
    {Py_tp_clear, Budget_clear},
    {Py_tp_methods, Budget_methods},
    {Py_tp_getset, Budget_getset},
    {Py_tp_doc, (void *)Budget_doc},
    {0, NULL},
};

static PyType_Spec Budget_spec = {
    .name = "safecompile.guards._native.Budget",
    .basicsize = sizeof(BudgetObject),
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC
             | Py_TPFLAGS_IMMUTABLETYPE,
    .slots = Budget_slots,
};


/* ======================================================================
 * 4. TickIter
 * ==================================================================== */

/* tick, then next(it).  The underlying next runs inside a recursion guard:
   a million iterate(map(f, iterate(map(...)))) layers end in RecursionError
   instead of overflowing the C stack. */
static PyObject *
TickIter_next(TickIterObject *self)
{
    if (UNLIKELY(self->it == NULL)) {
        return NULL;                /* cleared by the GC: exhausted */
    }
    if (budget_tick(self->budget) < 0) {
        return NULL;
    }
    if (Py_EnterRecursiveCall(" while iterating")) {
        return NULL;
    }
    /* self (and so self->it) is kept alive by our caller; `it` is an
       iterator (PyObject_GetIter checked), so tp_iternext is set. */
    PyObject *item = Py_TYPE(self->it)->tp_iternext(self->it);
    Py_LeaveRecursiveCall();
    return item;
}

static int
TickIter_traverse(TickIterObject *self, visitproc visit, void *arg)
{
    Py_VISIT(Py_TYPE(self));
    Py_VISIT(self->budget);
    Py_VISIT(self->it);
    return 0;
}

/* Breaks cycles through the underlying iterator (e.g. a tuple iterator
   over a tuple holding this TickIter: neither has a tp_clear).  Cycles
   through `budget` are broken by Budget_clear. */
static int
TickIter_clear(TickIterObject *self)
{
    Py_CLEAR(self->it);
    return 0;
}

static void
TickIter_dealloc(TickIterObject *self)
{
    PyTypeObject *type = Py_TYPE(self);
    PyObject_GC_UnTrack(self);
    /* The trashcan turns the deallocation of a long chain of nested
       iterators into a loop.  When it postpones this object, it returns
       through Py_TRASHCAN_END and calls us again later, so everything,
       including the type's decref, stays inside. */
    Py_TRASHCAN_BEGIN(self, TickIter_dealloc)
    Py_CLEAR(self->budget);
    Py_CLEAR(self->it);
    type->tp_free(self);
    Py_DECREF(type);
    Py_TRASHCAN_END
}

static PyType_Slot TickIter_slots[] = {
    {Py_tp_iter, PyObject_SelfIter},
    {Py_tp_iternext, TickIter_next},
    {Py_tp_dealloc, TickIter_dealloc},
    {Py_tp_traverse, TickIter_traverse},
    {Py_tp_clear, TickIter_clear},
    {Py_tp_doc, (void *)"An iterator that ticks its Budget once per item."},
    {0, NULL},
};

static PyType_Spec TickIter_spec = {
    .name = "safecompile.guards._native.TickIter",
    .basicsize = sizeof(TickIterObject),
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC
             | Py_TPFLAGS_IMMUTABLETYPE | Py_TPFLAGS_DISALLOW_INSTANTIATION,
    .slots = TickIter_slots,
};


/* ======================================================================
 * 5. The module
 * ==================================================================== */

static int
native_exec(PyObject *module)
{
    native_state *state = get_state(module);

    state->budget_type = (PyTypeObject *)PyType_FromModuleAndSpec(
        module, &Budget_spec, NULL);
    if (state->budget_type == NULL) {
        return -1;
    }
    state->tickiter_type = (PyTypeObject *)PyType_FromModuleAndSpec(
        module, &TickIter_spec, NULL);
    if (state->tickiter_type == NULL) {
        return -1;
    }
    /* TickIter stays out of the namespace, like _pure's private _TickIter. */
    if (PyModule_AddType(module, state->budget_type) < 0) {
        return -1;
    }
    if (PyModule_AddIntConstant(module, "CLOCK_EVERY", CLOCK_EVERY) < 0) {
        return -1;
    }
    return 0;
}

static int
native_traverse(PyObject *module, visitproc visit, void *arg)
{
    native_state *state = get_state(module);
    Py_VISIT(state->budget_type);
    Py_VISIT(state->tickiter_type);
    return 0;
}

static int
native_clear(PyObject *module)
{
    native_state *state = get_state(module);
    Py_CLEAR(state->budget_type);
    Py_CLEAR(state->tickiter_type);
    return 0;
}

static void
native_free(void *module)
{
    native_clear((PyObject *)module);
}

static PyModuleDef_Slot native_slots[] = {
    {Py_mod_exec, native_exec},
#if PY_VERSION_HEX >= 0x030C0000
    /* no global state: each interpreter gets its own types */
    {Py_mod_multiple_interpreters, Py_MOD_PER_INTERPRETER_GIL_SUPPORTED},
#endif
#if PY_VERSION_HEX >= 0x030D0000
    /* the counters are plain ints: they rely on the GIL */
    {Py_mod_gil, Py_MOD_GIL_USED},
#endif
    {0, NULL},
};

static struct PyModuleDef native_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "safecompile.guards._native",
    .m_doc = "C twins of the hot guards in safecompile.guards._pure.",
    .m_size = sizeof(native_state),
    .m_slots = native_slots,
    .m_traverse = native_traverse,
    .m_clear = native_clear,
    .m_free = native_free,
};

PyMODINIT_FUNC
PyInit__native(void)
{
    return PyModuleDef_Init(&native_module);
}
