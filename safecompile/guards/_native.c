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
 *   4a. Proxy: a host object as a script sees it (helper "native proxy")
 *   4b. is_plain: the plain-data test of the membrane (helper "native proxy")
 *   5. The module
 */

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <structmember.h>
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

/* --- native proxy: interned names the Proxy and Budget.enter_method look
   up (module state, so every interpreter has its own) --------------------- */
#define NATIVE_STRINGS(X)                                                   \
    X(readable) X(writable) X(construct)                                    \
    X(out) X(into) X(sanitize) X(denied)                                    \
    X(__qualname__) X(__module__)                                           \
    X(__call__) X(__getitem__) X(__len__) X(__iter__) X(__contains__)       \
    X(__str__) X(startswith) X(_)
#define DECLARE_STRING(name) PyObject *str_##name;
/* --- end native proxy --- */

typedef struct {
    PyTypeObject *budget_type;
    PyTypeObject *tickiter_type;
    PyTypeObject *product_type;
    /* --- native proxy --- */
    PyTypeObject *proxy_type;
    NATIVE_STRINGS(DECLARE_STRING)
    /* --- end native proxy --- */
} native_state;

/* How many script classes Budget.enter_method() remembers as owned. */
#define OWNED_TYPES 4

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
    /* --- native proxy: enter_method --- */
    PyObject *owner;            /* owner_module, an exact str */
    PyObject *denied;           /* NULL (None), or a callable: msg -> exc */
    /* classes whose instances enter_method() found owned (a cache) */
    PyObject *owned_types[OWNED_TYPES];   /* NULL where unused */
    int owned_next;             /* the slot the next class goes to */
    /* --- end native proxy --- */
} BudgetObject;

/* Made only by Budget.iterate(); not constructible from Python. */
typedef struct {
    PyObject_HEAD
    BudgetObject *budget;       /* always set */
    PyObject *it;               /* the underlying iterator; NULL once cleared */
    int forever;                /* Budget.loop()'s: no iterator, () for ever */
} TickIterObject;

/* --- native proxy --- */
/* A host object as a script sees it.  The three references live only here:
   no member, getset, __dict__ or tp_traverse visit exposes the target. */
typedef struct {
    PyObject_HEAD
    PyObject *target;           /* the host object; NULL once cleared */
    PyObject *checker;          /* .readable, .writable, .construct */
    PyObject *membrane;         /* .out, .into, .sanitize, .denied */
} ProxyObject;
/* --- end native proxy --- */

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
   for the guard of the call to enter() (enter, enter_site and enter_method
   each take exactly one, see Budget_tick), and the guards below the
   creating frame cancel out.  Plain recursion of Python functions trips at the same
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


/* --- native proxy: helpers shared by Budget.enter_method and Proxy --- */

/* `raise obj`, or `raise obj from None` when from_none, exactly as the
   interpreter does it (ceval's do_raise): an exception class is called
   without arguments, anything else that is not an exception instance is a
   TypeError.  The raised exception's __context__ is the exception being
   handled, as for `raise`.  Always returns -1. */
static int
raise_object(PyObject *obj, int from_none)
{
    PyObject *value = NULL;
    if (PyExceptionClass_Check(obj)) {
        value = PyObject_CallNoArgs(obj);
        if (value == NULL) {
            goto error;
        }
        if (!PyExceptionInstance_Check(value)) {
            PyErr_Format(PyExc_TypeError,
                         "calling %R should have returned an instance of "
                         "BaseException, not %R", obj, Py_TYPE(value));
            goto error;
        }
    }
    else if (PyExceptionInstance_Check(obj)) {
        value = Py_NewRef(obj);
    }
    else {
        PyErr_SetString(PyExc_TypeError,
                        "exceptions must derive from BaseException");
        goto error;
    }
    if (from_none) {
        PyException_SetCause(value, NULL);  /* also sets __suppress_context__ */
    }
    PyErr_SetObject((PyObject *)Py_TYPE(value), value);

error:
    Py_XDECREF(value);
    return -1;
}

/* The exception being raised, normalised, with its traceback attached (as
   `except ... as exc` sees it); the error indicator is cleared. */
static PyObject *
take_exception(void)
{
#if PY_VERSION_HEX >= 0x030C0000
    return PyErr_GetRaisedException();
#else
    PyObject *type, *value, *traceback;
    PyErr_Fetch(&type, &value, &traceback);
    PyErr_NormalizeException(&type, &value, &traceback);
    if (traceback != NULL) {
        PyException_SetTraceback(value, traceback);
    }
    Py_XDECREF(type);
    Py_XDECREF(traceback);
    return value;
#endif
}

/* The type's own namespace (type.__dict__ without a metaclass in the way);
   a new reference. */
static PyObject *
own_type_dict(PyTypeObject *type)
{
#if PY_VERSION_HEX >= 0x030C0000
    return PyType_GetDict(type);
#else
    return Py_NewRef(type->tp_dict);
#endif
}

/* --- end native proxy --- */


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
                             "limit_error", "owner_module", "denied", NULL};
    PyObject *steps_obj, *deadline_obj, *recursion_obj, *error;
    PyObject *owner = NULL, *denied = NULL;     /* native proxy */
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "OOOO|OO:Budget", kwlist,
                                     &steps_obj, &deadline_obj,
                                     &recursion_obj, &error,
                                     &owner, &denied)) {
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

    /* --- native proxy: enter_method's arguments --- */
    if (owner != NULL && !PyUnicode_CheckExact(owner)) {
        argument_type_error("owner_module", "a str", owner);
        return NULL;
    }
    if (denied == Py_None) {
        denied = NULL;
    }
    if (denied != NULL && !PyCallable_Check(denied)) {
        argument_type_error("denied", "callable or None", denied);
        return NULL;
    }
    /* --- end native proxy --- */

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
    /* native proxy */
    self->owner = owner != NULL ? Py_NewRef(owner) : PyUnicode_FromString("");
    self->denied = Py_XNewRef(denied);
    if (self->owner == NULL) {
        Py_DECREF(self);
        return NULL;
    }
    return (PyObject *)self;
}

static int
Budget_traverse(BudgetObject *self, visitproc visit, void *arg)
{
    Py_VISIT(Py_TYPE(self));
    Py_VISIT(self->spent);
    Py_VISIT(self->error);
    Py_VISIT(self->denied);     /* native proxy */
    for (int i = 0; i < OWNED_TYPES; i++) {   /* native proxy */
        Py_VISIT(self->owned_types[i]);
    }
    return 0;
}

/* Breaks cycles through `spent` (spend() takes any objects).  `error` is
   kept so that a cleared Budget can still raise: it is a class, and the
   class's own tp_clear breaks the cycles through its namespace.  `denied`
   is kept for the same reason (native proxy): a cycle through it runs
   through a function, method or instance, whose tp_clear breaks it.
   `owned_types` is only a cache (script classes, whose methods' globals
   hold this Budget: a cycle), so it goes. */
static int
Budget_clear(BudgetObject *self)
{
    Py_CLEAR(self->spent);
    for (int i = 0; i < OWNED_TYPES; i++) {
        Py_CLEAR(self->owned_types[i]);
    }
    return 0;
}

static void
Budget_dealloc(BudgetObject *self)
{
    PyTypeObject *type = Py_TYPE(self);
    PyObject_GC_UnTrack(self);
    Py_CLEAR(self->spent);
    Py_CLEAR(self->error);
    Py_CLEAR(self->owner);      /* native proxy */
    Py_CLEAR(self->denied);     /* native proxy */
    for (int i = 0; i < OWNED_TYPES; i++) {   /* native proxy */
        Py_CLEAR(self->owned_types[i]);
    }
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

/* The calls the compiler inserts (tick at every while test, enter_site at
   every function entry) are ones the interpreter can specialise: it never
   specialises a call of a METH_NOARGS builtin (3.11 to 3.13), and the
   generic path costs about 130 more instructions per call (callgrind, a
   recursive fib: 255 instructions added per call with METH_NOARGS, 127 with
   METH_O).  tick is METH_FASTCALL: it does not read the recursion depth, so
   the C recursion guard the unspecialised path takes (and the specialised
   PRECALL_BUILTIN_FAST does not) does not matter.  enter_site is METH_O:
   on 3.11 thread_depth() counts C recursion guards, and a METH_O call takes
   exactly one guard on every path, specialised or not, as enter() and
   enter_method() do, so all three count the same depth. */
static PyObject *
Budget_tick(BudgetObject *self, PyObject *const *Py_UNUSED(args), Py_ssize_t nargs)
{
    if (nargs != 0) {
        PyErr_Format(PyExc_TypeError, "Budget.tick() takes no arguments (%zd given)",
                     nargs);
        return NULL;
    }
    if (budget_tick(self) < 0) {
        return NULL;
    }
    Py_RETURN_NONE;
}

/* enter(): 0, or -1 with the limit error set. */
static int
budget_enter(BudgetObject *self)
{
    if (budget_tick(self) < 0) {
        return -1;
    }
    if (self->recursion_limit >= 0
        && thread_depth() - self->base_depth > self->recursion_limit)
    {
        return budget_spend_and_raise(
            self, "recursion", PyLong_FromLong(self->recursion_limit),
            PyLong_FromLong((long)self->recursion_limit + 1));
    }
    return 0;
}

static PyObject *
Budget_enter(BudgetObject *self, PyObject *Py_UNUSED(ignored))
{
    if (budget_enter(self) < 0) {
        return NULL;
    }
    Py_RETURN_NONE;
}

/* enter() as the compiler emits it, `__sc_enter__(None)`.  The argument
   carries nothing: it is there so that the call is METH_O (see
   Budget_tick), and must be None. */
static PyObject *
Budget_enter_site(BudgetObject *self, PyObject *site)
{
    if (site != Py_None) {
        PyErr_SetString(PyExc_TypeError, "Budget.enter_site() takes None");
        return NULL;
    }
    if (budget_enter(self) < 0) {
        return NULL;
    }
    Py_RETURN_NONE;
}

/* --- native proxy: enter_method --- */

/* Whether obj belongs to the script whose module name is self->owner: a
   function defined by it, or an instance or class whose class was (the
   "__module__" key of the type's own namespace, not an inherited one).
   Bound methods never are.  1, 0, or -1 with an error set.  The twin of
   _pure.Budget._owns. */
static int
budget_owns(BudgetObject *self, native_state *state, PyObject *obj)
{
    PyObject *dict = NULL, *module;
    int owned = 0;
    if (PyFunction_Check(obj)) {                /* exact FunctionType */
        module = PyFunction_GetModule(obj);     /* borrowed; NULL: None */
        if (module != NULL && PyUnicode_CheckExact(module)) {
            owned = PyObject_RichCompareBool(module, self->owner, Py_EQ);
        }
        return owned;
    }
    if (PyMethod_Check(obj)) {                  /* exact MethodType */
        return 0;
    }
    /* the real type test: a __class__ attribute cannot claim to be a type */
    PyTypeObject *type = PyType_Check(obj) ? (PyTypeObject *)obj : Py_TYPE(obj);
    dict = own_type_dict(type);
    if (dict == NULL) {
        return -1;
    }
    module = PyDict_GetItemWithError(dict, state->str___module__);  /* borrowed */
    if (module == NULL) {
        owned = PyErr_Occurred() ? -1 : 0;
        goto error;
    }
    if (PyUnicode_CheckExact(module)) {
        /* two exact strs: the comparison runs no Python code */
        owned = PyObject_RichCompareBool(module, self->owner, Py_EQ);
    }

error:
    Py_XDECREF(dict);
    return owned;
}

static PyObject *target_type_name(native_state *state, PyObject *target);

/* _pure._shown_type (and access.type_name): "module" for a module, the
   target's type name for a Proxy, else type(obj).__qualname__; as an exact
   str, a new reference. */
static PyObject *
shown_type(native_state *state, PyObject *obj)
{
    PyObject *name = NULL, *text = NULL;
    int is_module = PyObject_IsInstance(obj, (PyObject *)&PyModule_Type);
    if (is_module < 0) {
        return NULL;
    }
    if (is_module) {
        return PyUnicode_FromString("module");
    }
    if (Py_IS_TYPE(obj, state->proxy_type)) {
        PyObject *target = ((ProxyObject *)obj)->target;
        if (target == NULL) {
            PyErr_SetString(PyExc_ReferenceError,
                            "the Proxy was cleared by the garbage collector");
            return NULL;
        }
        name = target_type_name(state, target);
    }
    else {
        name = PyObject_GetAttr((PyObject *)Py_TYPE(obj), state->str___qualname__);
    }
    if (name == NULL) {
        return NULL;
    }
    text = PyObject_Str(name);                      /* str(...) */
    Py_DECREF(name);
    return text;
}

/* Raise denied(message), or TypeError(message) when denied is None. */
static void
budget_deny_method(BudgetObject *self, native_state *state, PyObject *obj)
{
    PyObject *shown_name = NULL, *message = NULL;
    PyObject *exc = NULL;
    shown_name = shown_type(state, obj);
    if (shown_name == NULL) {
        goto error;
    }
    message = PyUnicode_FromFormat(
        "a method of a script class was called with an object of type %U as "
        "its first argument; scripts may only call methods on their own "
        "objects (use @staticmethod for functions that take other values)",
        shown_name);
    if (message == NULL) {
        goto error;
    }
    if (self->denied == NULL) {
        PyErr_SetObject(PyExc_TypeError, message);
        goto error;
    }
    exc = PyObject_CallOneArg(self->denied, message);
    if (exc == NULL) {
        goto error;
    }
    raise_object(exc, 0);

error:
    Py_XDECREF(shown_name);
    Py_XDECREF(message);
    Py_XDECREF(exc);
}

static PyObject *
Budget_enter_method(BudgetObject *self, PyObject *obj)
{
    if (budget_enter(self) < 0) {
        return NULL;
    }
    /* The usual case, `self` of one of the classes seen last, without the
       type-dict lookup: budget_owns() decides an instance by its type's own
       "__module__" alone, which a script cannot rebind (a dunder), so the
       answer for a type does not change during the run.  Only instances
       are cached: not classes (decided by themselves), functions or bound
       methods, whose types are never script classes. */
    PyObject *type = (PyObject *)Py_TYPE(obj);
    for (int i = 0; i < OWNED_TYPES; i++) {
        if (type == self->owned_types[i]) {
            Py_RETURN_NONE;
        }
    }
    native_state *state = PyType_GetModuleState(Py_TYPE(self));
    if (state == NULL) {
        return NULL;
    }
    int owned = budget_owns(self, state, obj);
    if (owned < 0) {
        return NULL;
    }
    if (!owned) {
        budget_deny_method(self, state, obj);
        return NULL;
    }
    if (!PyType_Check(obj) && !PyFunction_Check(obj) && !PyMethod_Check(obj)) {
        Py_XSETREF(self->owned_types[self->owned_next], Py_NewRef(type));
        self->owned_next = (self->owned_next + 1) % OWNED_TYPES;
    }
    Py_RETURN_NONE;
}

/* --- end native proxy --- */

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

/* renew(deadline): this Budget as a new one with the same limits, in
   place: no steps, not spent, a new deadline, the caller's depth as the
   base.  A run called again (a handle of a script object) renews its
   budget, so iterators made in an earlier call (a suspended generator's
   for or while loop) tick the current one. */
static PyObject *
Budget_renew(BudgetObject *self, PyObject *arg)
{
    double deadline = PyFloat_AsDouble(arg);
    if (deadline == -1.0 && PyErr_Occurred()) {
        return NULL;
    }
    if (isnan(deadline)) {
        PyErr_SetString(PyExc_ValueError, "deadline must not be nan");
        return NULL;
    }
    double started;
    if (monotonic_now(&started) < 0) {
        return NULL;
    }
    self->steps = 0;
    self->clock = CLOCK_EVERY;
    self->base_depth = creation_depth();
    self->deadline = deadline;
    self->started = started;
    Py_CLEAR(self->spent);
    Py_RETURN_NONE;
}

/* loop(None): the iterator of a while loop as the compiler emits it,
   `for () in __sc_loop__(None): if not test: break`.  It ticks once per
   item, like iterate(), and yields () for ever.  METH_O with a None
   argument, as enter_site: a call the interpreter specialises, once per
   loop entry. */
static PyObject *
Budget_loop(BudgetObject *self, PyObject *site)
{
    if (site != Py_None) {
        PyErr_SetString(PyExc_TypeError, "Budget.loop() takes None");
        return NULL;
    }
    native_state *state = PyType_GetModuleState(Py_TYPE(self));
    if (state == NULL) {
        return NULL;
    }
    TickIterObject *result = (TickIterObject *)
        state->tickiter_type->tp_alloc(state->tickiter_type, 0);
    if (result == NULL) {
        return NULL;
    }
    result->budget = (BudgetObject *)Py_NewRef(self);
    result->forever = 1;
    return (PyObject *)result;
}

PyDoc_STRVAR(Budget_doc,
"Budget(steps_limit, deadline, recursion_limit, limit_error,\n"
"       owner_module='', denied=None)\n--\n\n"
"A step counter with a deadline and a recursion bound.\n\n"
"steps_limit/recursion_limit below 0 mean unlimited; deadline is a\n"
"time.monotonic() instant (inf for none).  limit_error is the exception\n"
"class raised: limit_error(limit, allowed, used).  Once spent, every\n"
"tick/enter/raise_if_spent raises again.  owner_module is the script's\n"
"module name for enter_method(); denied(message) makes the exception it\n"
"raises (TypeError(message) when denied is None).");

static PyMethodDef Budget_methods[] = {
    {"spend", (PyCFunction)(void (*)(void))Budget_spend,
     METH_VARARGS | METH_KEYWORDS,
     "spend($self, /, limit, allowed, used)\n--\n\n"
     "Mark the budget spent (first reason wins) without raising."},
    {"raise_if_spent", (PyCFunction)Budget_raise_if_spent, METH_NOARGS,
     "raise_if_spent($self, /)\n--\n\n"
     "Raise limit_error(*spent) if the budget is spent."},
    {"tick", (PyCFunction)(void (*)(void))Budget_tick, METH_FASTCALL,
     "tick($self, /)\n--\n\n"
     "Count one step; read the clock every CLOCK_EVERY steps."},
    {"enter", (PyCFunction)Budget_enter, METH_NOARGS,
     "enter($self, /)\n--\n\n"
     "A function entry: one step and the recursion bound."},
    {"enter_site", (PyCFunction)Budget_enter_site, METH_O,
     "enter_site($self, site, /)\n--\n\n"
     "enter() as the compiler emits it: enter_site(None)."},
    /* native proxy */
    {"enter_method", (PyCFunction)Budget_enter_method, METH_O,
     "enter_method($self, obj, /)\n--\n\n"
     "A method entry: enter(), then obj (the method's first argument) must\n"
     "belong to the script (owner_module), or denied(message) is raised."},
    {"renew", (PyCFunction)Budget_renew, METH_O,
     "renew($self, deadline, /)\n--\n\n"
     "Start again, in place: no steps, not spent, a new deadline."},
    {"loop", (PyCFunction)Budget_loop, METH_O,
     "loop($self, site, /)\n--\n\n"
     "A while loop's iterator: ticks once per item and yields () for ever."},
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
        if (self->forever) {        /* a while loop's iterator (Budget.loop) */
            if (budget_tick(self->budget) < 0) {
                return NULL;
            }
            return PyTuple_New(0);  /* the empty tuple: `for () in ...` binds nothing */
        }
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
 * 3b. Product: the `a * b` guard's fast path
 *
 * Product(limit_bits, slow)(a, b): a * b when both are exact ints whose
 * bit lengths add up to at most limit_bits, or when either is an exact
 * float (a float product cannot grow); slow(a, b) for everything else
 * (the Python guard: big ints, fractions, subclasses, sequences), which
 * refuses a product over the operand budget before computing it.  The
 * twin of _pure.Product.
 * ==================================================================== */

typedef struct {
    PyObject_HEAD
    Py_ssize_t limit_bits;      /* < 0: no limit */
    PyObject *slow;             /* a callable */
    vectorcallfunc vectorcall;
} ProductObject;

static PyObject *
Product_vectorcall(PyObject *callable, PyObject *const *args, size_t nargsf,
                   PyObject *kwnames)
{
    ProductObject *self = (ProductObject *)callable;
    Py_ssize_t nargs = PyVectorcall_NARGS(nargsf);
    if (nargs == 2 && kwnames == NULL) {
        PyObject *left = args[0], *right = args[1];
        if (PyFloat_CheckExact(left) || PyFloat_CheckExact(right)) {
            if ((PyFloat_CheckExact(left) || PyLong_CheckExact(left))
                && (PyFloat_CheckExact(right) || PyLong_CheckExact(right)))
            {
                return PyNumber_Multiply(left, right);
            }
        }
        else if (PyLong_CheckExact(left) && PyLong_CheckExact(right)) {
            if (self->limit_bits < 0) {
                return PyNumber_Multiply(left, right);
            }
            int64_t bits = _PyLong_NumBits(left);
            if (bits == -1 && PyErr_Occurred()) {
                return NULL;
            }
            int64_t more = _PyLong_NumBits(right);
            if (more == -1 && PyErr_Occurred()) {
                return NULL;
            }
            if (bits + more <= self->limit_bits) {
                return PyNumber_Multiply(left, right);
            }
        }
    }
    if (self->slow == NULL) {
        PyErr_SetString(PyExc_ReferenceError, "the Product was cleared");
        return NULL;
    }
    return PyObject_Vectorcall(self->slow, args, nargsf, kwnames);
}

static PyObject *
Product_new(PyTypeObject *type, PyObject *args, PyObject *kwargs)
{
    static char *kwlist[] = {"limit_bits", "slow", NULL};
    Py_ssize_t limit_bits;
    PyObject *slow;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "nO:Product", kwlist,
                                     &limit_bits, &slow)) {
        return NULL;
    }
    if (!PyCallable_Check(slow)) {
        argument_type_error("slow", "callable", slow);
        return NULL;
    }
    ProductObject *self = (ProductObject *)type->tp_alloc(type, 0);
    if (self == NULL) {
        return NULL;
    }
    self->limit_bits = limit_bits;
    self->slow = Py_NewRef(slow);
    self->vectorcall = Product_vectorcall;
    return (PyObject *)self;
}

static int
Product_traverse(ProductObject *self, visitproc visit, void *arg)
{
    Py_VISIT(Py_TYPE(self));
    Py_VISIT(self->slow);
    return 0;
}

static int
Product_clear(ProductObject *self)
{
    Py_CLEAR(self->slow);
    return 0;
}

static void
Product_dealloc(ProductObject *self)
{
    PyTypeObject *type = Py_TYPE(self);
    PyObject_GC_UnTrack(self);
    Py_CLEAR(self->slow);
    type->tp_free(self);
    Py_DECREF(type);
}

static PyObject *
Product_call(ProductObject *self, PyObject *args, PyObject *kwargs)
{
    if (self->slow == NULL) {
        PyErr_SetString(PyExc_ReferenceError, "the Product was cleared");
        return NULL;
    }
    return PyVectorcall_Call((PyObject *)self, args, kwargs);
}

static PyMemberDef Product_members[] = {
    {"__vectorcalloffset__", T_PYSSIZET, offsetof(ProductObject, vectorcall), READONLY, NULL},
    {NULL, 0, 0, 0, NULL},
};

static PyType_Slot Product_slots[] = {
    {Py_tp_new, Product_new},
    {Py_tp_call, Product_call},
    {Py_tp_dealloc, Product_dealloc},
    {Py_tp_traverse, Product_traverse},
    {Py_tp_clear, Product_clear},
    {Py_tp_members, Product_members},
    {Py_tp_doc, (void *)"Product(limit_bits, slow): the a * b guard; see _pure.Product."},
    {0, NULL},
};

static PyType_Spec Product_spec = {
    .name = "safecompile.guards._native.Product",
    .basicsize = sizeof(ProductObject),
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_HAVE_VECTORCALL
             | Py_TPFLAGS_IMMUTABLETYPE,
    .slots = Product_slots,
};


/* ======================================================================
 * 4a. Proxy: a host object as a script sees it (helper "native proxy")
 *
 * The twin of _pure.Proxy: same checks in the same order, same messages,
 * same calls into the checker and the membrane.  The target reference
 * lives only in the C struct: no __dict__, no members or getsets, no
 * tp_traverse visit (see Proxy_traverse), and every attribute read goes
 * through Proxy_getattro, which only passes the checker's readable names.
 * ==================================================================== */

/* names.shown()'s limit: error messages show at most this much of a name */
#define SHOWN_LIMIT 80

#define WHY_NOT_EXPOSED "not exposed to scripts"
#define WHY_UNDERSCORE "underscore attributes of host objects are not available"

/* Whether the exact str `text` starts with / equals the ASCII `prefix`. */
static int
str_starts_with(PyObject *text, const char *prefix)
{
    Py_ssize_t length = (Py_ssize_t)strlen(prefix);
    if (PyUnicode_GET_LENGTH(text) < length) {
        return 0;
    }
    for (Py_ssize_t i = 0; i < length; i++) {
        if (PyUnicode_READ_CHAR(text, i) != (Py_UCS4)(unsigned char)prefix[i]) {
            return 0;
        }
    }
    return 1;
}

static int
str_equals(PyObject *text, const char *ascii)
{
    return PyUnicode_GET_LENGTH(text) == (Py_ssize_t)strlen(ascii)
           && str_starts_with(text, ascii);
}

/* names.is_private(name) or names.is_internal_attribute(name), for an exact
   str.  The same table as names.INTERNAL_PREFIXES / INTERNAL_NAMES; the
   proxy tests check every entry of those against this function. */
static int
name_is_refused(PyObject *name)
{
    static const char *const internal_prefixes[] = {
        "f_", "co_", "tb_", "gi_", "cr_", "ag_", NULL,
    };
    if (str_starts_with(name, "_") || str_equals(name, "mro")) {
        return 1;
    }
    for (const char *const *prefix = internal_prefixes; *prefix != NULL; prefix++) {
        if (str_starts_with(name, *prefix)) {
            return 1;
        }
    }
    return 0;
}

/* names.shown(name) for an exact str: its repr cut to SHOWN_LIMIT. */
static PyObject *
shown(PyObject *name)
{
    PyObject *text = PyObject_Repr(name);
    if (text == NULL || PyUnicode_GET_LENGTH(text) <= SHOWN_LIMIT) {
        return text;
    }
    PyObject *head = PyUnicode_Substring(text, 0, SHOWN_LIMIT - 5);
    Py_DECREF(text);
    if (head == NULL) {
        return NULL;
    }
    PyObject *result = PyUnicode_FromFormat("%U...'", head);
    Py_DECREF(head);
    return result;
}

static inline native_state *
proxy_state(ProxyObject *self)
{
    /* Proxy is not subclassable: Py_TYPE(self) is the module's type. */
    return (native_state *)PyType_GetModuleState(Py_TYPE(self));
}

/* 0, or -1 with ReferenceError when the GC has cleared the proxy (only a
   finalizer that resurrects it during a collection can see that). */
static int
proxy_check_alive(ProxyObject *self)
{
    if (self->target == NULL || self->checker == NULL || self->membrane == NULL) {
        PyErr_SetString(PyExc_ReferenceError,
                        "the Proxy was cleared by the garbage collector");
        return -1;
    }
    return 0;
}

/* _pure.type_name_of_target: "class <qualname>" for a class, else the
   qualname of the target's type, each looked up as the pure twin does. */
static PyObject *
target_type_name(native_state *state, PyObject *target)
{
    PyObject *qualname = NULL, *text = NULL, *result = NULL;
    int is_type = PyObject_IsInstance(target, (PyObject *)&PyType_Type);
    if (is_type < 0) {
        goto error;
    }
    if (!is_type) {
        result = PyObject_GetAttr((PyObject *)Py_TYPE(target),
                                  state->str___qualname__);
        goto error;
    }
    qualname = PyObject_GetAttr(target, state->str___qualname__);
    if (qualname == NULL) {
        goto error;
    }
    text = PyObject_Format(qualname, NULL);
    if (text == NULL) {
        goto error;
    }
    result = PyUnicode_FromFormat("class %U", text);

error:
    Py_XDECREF(qualname);
    Py_XDECREF(text);
    return result;
}

/* raise membrane.denied(message).  Always returns -1. */
static int
proxy_deny_message(ProxyObject *self, PyObject *message)
{
    native_state *state = proxy_state(self);
    PyObject *exc = PyObject_CallMethodOneArg(self->membrane, state->str_denied,
                                              message);
    if (exc == NULL) {
        return -1;
    }
    raise_object(exc, 0);
    Py_DECREF(exc);
    return -1;
}

/* _pure._deny: raise membrane.denied(
       f"cannot {op}{' ' + shown(name) if name else ''} of {type name}: {why}").
   name is NULL or an exact str.  Always returns -1. */
static int
proxy_deny(ProxyObject *self, const char *op, PyObject *name, const char *why)
{
    native_state *state = proxy_state(self);
    PyObject *what = NULL, *denied = NULL, *type_name = NULL;
    PyObject *type_text = NULL, *message = NULL, *exc = NULL;
    if (name != NULL && PyUnicode_GET_LENGTH(name) > 0) {
        what = shown(name);
        if (what == NULL) {
            goto error;
        }
    }
    /* the same order as the pure twin: the callee, then the argument */
    denied = PyObject_GetAttr(self->membrane, state->str_denied);
    if (denied == NULL) {
        goto error;
    }
    type_name = target_type_name(state, self->target);
    if (type_name == NULL) {
        goto error;
    }
    type_text = PyObject_Format(type_name, NULL);
    if (type_text == NULL) {
        goto error;
    }
    if (what != NULL) {
        message = PyUnicode_FromFormat("cannot %s %U of %U: %s",
                                       op, what, type_text, why);
    }
    else {
        message = PyUnicode_FromFormat("cannot %s of %U: %s", op, type_text, why);
    }
    if (message == NULL) {
        goto error;
    }
    exc = PyObject_CallOneArg(denied, message);
    if (exc == NULL) {
        goto error;
    }
    raise_object(exc, 0);

error:
    Py_XDECREF(what);
    Py_XDECREF(denied);
    Py_XDECREF(type_name);
    Py_XDECREF(type_text);
    Py_XDECREF(message);
    Py_XDECREF(exc);
    return -1;
}

/* Called with an error set by the target: an Exception is replaced by
   `raise membrane.sanitize(exc) from None`; a BaseException that is not an
   Exception (KeyboardInterrupt, SystemExit, ...) passes unchanged.  The
   host exception is not being handled while sanitize runs or when the
   clean one is raised, so it never becomes anyone's __context__.
   Always returns -1. */
static int
proxy_sanitize(ProxyObject *self)
{
    if (!PyErr_ExceptionMatches(PyExc_Exception)) {
        return -1;
    }
    native_state *state = proxy_state(self);
    PyObject *exc = take_exception();
    PyObject *clean = PyObject_CallMethodOneArg(self->membrane,
                                                state->str_sanitize, exc);
    Py_DECREF(exc);
    if (clean == NULL) {
        return -1;
    }
    raise_object(clean, 1);
    Py_DECREF(clean);
    return -1;
}

/* `name in checker.<which>`: 1, 0, or -1 with an error set. */
static int
checker_has(ProxyObject *self, PyObject *which, PyObject *name)
{
    PyObject *names = PyObject_GetAttr(self->checker, which);
    if (names == NULL) {
        return -1;
    }
    int found = PySequence_Contains(names, name);
    Py_DECREF(names);
    return found;
}

/* membrane.out(value) / membrane.into(value): new references. */
static PyObject *
proxy_out(ProxyObject *self, PyObject *value)
{
    return PyObject_CallMethodOneArg(self->membrane, proxy_state(self)->str_out,
                                     value);
}

static PyObject *
proxy_into(ProxyObject *self, PyObject *value)
{
    return PyObject_CallMethodOneArg(self->membrane, proxy_state(self)->str_into,
                                     value);
}

static PyObject *
Proxy_getattro(ProxyObject *self, PyObject *name)
{
    PyObject *value = NULL, *result = NULL;
    if (proxy_check_alive(self) < 0) {
        return NULL;
    }
    /* exact str only: a str subclass never reaches a decision */
    if (!PyUnicode_CheckExact(name)) {
        PyObject *message = PyUnicode_FromString("attribute name must be a str");
        if (message != NULL) {
            proxy_deny_message(self, message);
            Py_DECREF(message);
        }
        return NULL;
    }
    if (str_equals(name, "__class__")) {
        return Py_NewRef(Py_TYPE(self));
    }
    if (name_is_refused(name)) {
        proxy_deny(self, "read attribute", name, WHY_UNDERSCORE);
        return NULL;
    }
    int allowed = checker_has(self, proxy_state(self)->str_readable, name);
    if (allowed < 0) {
        return NULL;
    }
    if (!allowed) {
        proxy_deny(self, "read attribute", name, WHY_NOT_EXPOSED);
        return NULL;
    }
    value = PyObject_GetAttr(self->target, name);
    if (value == NULL) {
        proxy_sanitize(self);
        goto error;
    }
    result = proxy_out(self, value);

error:
    Py_XDECREF(value);
    return result;
}

/* setattr and delattr (value NULL). */
static int
Proxy_setattro(ProxyObject *self, PyObject *name, PyObject *value)
{
    if (proxy_check_alive(self) < 0) {
        return -1;
    }
    PyObject *exact_name = PyUnicode_CheckExact(name) ? name : NULL;
    if (value == NULL) {
        return proxy_deny(self, "delete attribute", exact_name, WHY_NOT_EXPOSED);
    }
    if (exact_name == NULL || str_starts_with(name, "_")) {
        return proxy_deny(self, "set attribute", exact_name, WHY_NOT_EXPOSED);
    }
    int allowed = checker_has(self, proxy_state(self)->str_writable, name);
    if (allowed < 0) {
        return -1;
    }
    if (!allowed) {
        return proxy_deny(self, "set attribute", name, WHY_NOT_EXPOSED);
    }
    PyObject *inside = proxy_into(self, value);
    if (inside == NULL) {
        return -1;
    }
    int status = PyObject_SetAttr(self->target, name, inside);
    Py_DECREF(inside);
    if (status < 0) {
        return proxy_sanitize(self);
    }
    return 0;
}

static PyObject *
Proxy_call(ProxyObject *self, PyObject *args, PyObject *kwargs)
{
    native_state *state = proxy_state(self);
    PyObject *construct, *call_args = NULL, *call_kwargs = NULL;
    PyObject *value = NULL, *result = NULL;
    int allowed;
    if (proxy_check_alive(self) < 0) {
        return NULL;
    }
    int is_type = PyObject_IsInstance(self->target, (PyObject *)&PyType_Type);
    if (is_type < 0) {
        goto error;
    }
    if (is_type) {
        construct = PyObject_GetAttr(self->checker, state->str_construct);
        if (construct == NULL) {
            goto error;
        }
        allowed = PyObject_IsTrue(construct);
        Py_DECREF(construct);
    }
    else {
        allowed = checker_has(self, state->str_readable, state->str___call__);
    }
    if (allowed < 0) {
        goto error;
    }
    if (!allowed) {
        proxy_deny(self, "call", NULL, WHY_NOT_EXPOSED);
        goto error;
    }
    Py_ssize_t count = PyTuple_GET_SIZE(args);
    call_args = PyTuple_New(count);
    if (call_args == NULL) {
        goto error;
    }
    for (Py_ssize_t i = 0; i < count; i++) {
        PyObject *inside = proxy_into(self, PyTuple_GET_ITEM(args, i));
        if (inside == NULL) {
            goto error;
        }
        PyTuple_SET_ITEM(call_args, i, inside);
    }
    if (kwargs != NULL && PyDict_GET_SIZE(kwargs) > 0) {
        /* kwargs is the call's own dict: nothing else can change it */
        PyObject *key, *item;
        Py_ssize_t position = 0;
        call_kwargs = PyDict_New();
        if (call_kwargs == NULL) {
            goto error;
        }
        while (PyDict_Next(kwargs, &position, &key, &item)) {
            PyObject *inside = proxy_into(self, item);
            if (inside == NULL) {
                goto error;
            }
            int status = PyDict_SetItem(call_kwargs, key, inside);
            Py_DECREF(inside);
            if (status < 0) {
                goto error;
            }
        }
    }
    value = PyObject_Call(self->target, call_args, call_kwargs);
    if (value == NULL) {
        proxy_sanitize(self);
        goto error;
    }
    result = proxy_out(self, value);

error:
    Py_XDECREF(call_args);
    Py_XDECREF(call_kwargs);
    Py_XDECREF(value);
    return result;
}

static PyObject *
Proxy_subscript(ProxyObject *self, PyObject *key)
{
    PyObject *inside = NULL, *value = NULL, *result = NULL;
    if (proxy_check_alive(self) < 0) {
        return NULL;
    }
    int allowed = checker_has(self, proxy_state(self)->str_readable,
                              proxy_state(self)->str___getitem__);
    if (allowed < 0) {
        return NULL;
    }
    if (!allowed) {
        proxy_deny(self, "subscript", NULL, WHY_NOT_EXPOSED);
        return NULL;
    }
    /* as in the pure twin, a failing into() is sanitized too */
    inside = proxy_into(self, key);
    if (inside == NULL) {
        proxy_sanitize(self);
        goto error;
    }
    value = PyObject_GetItem(self->target, inside);
    if (value == NULL) {
        proxy_sanitize(self);
        goto error;
    }
    result = proxy_out(self, value);

error:
    Py_XDECREF(inside);
    Py_XDECREF(value);
    return result;
}

/* The sequence slot, as a Python class with __getitem__ has one too
   (reversed(), PySequence_GetItem). */
static PyObject *
Proxy_item(ProxyObject *self, Py_ssize_t index)
{
    PyObject *key = PyLong_FromSsize_t(index);
    if (key == NULL) {
        return NULL;
    }
    PyObject *result = Proxy_subscript(self, key);
    Py_DECREF(key);
    return result;
}

static int
Proxy_ass_subscript(ProxyObject *self, PyObject *Py_UNUSED(key), PyObject *value)
{
    if (proxy_check_alive(self) < 0) {
        return -1;
    }
    return proxy_deny(self, value == NULL ? "delete items" : "assign items",
                      NULL, WHY_NOT_EXPOSED);
}

static int
Proxy_ass_item(ProxyObject *self, Py_ssize_t Py_UNUSED(index), PyObject *value)
{
    return Proxy_ass_subscript(self, NULL, value);
}

static Py_ssize_t
Proxy_length(ProxyObject *self)
{
    if (proxy_check_alive(self) < 0) {
        return -1;
    }
    int allowed = checker_has(self, proxy_state(self)->str_readable,
                              proxy_state(self)->str___len__);
    if (allowed < 0) {
        return -1;
    }
    if (!allowed) {
        return proxy_deny(self, "take len()", NULL, WHY_NOT_EXPOSED);
    }
    Py_ssize_t length = PyObject_Size(self->target);
    if (length < 0) {
        return proxy_sanitize(self);
    }
    return length;
}

/* Materialise the target's items first (sanitizing what its iterator
   raises), then iterate over membrane.out of each. */
static PyObject *
Proxy_iter(ProxyObject *self)
{
    PyObject *iterator = NULL, *items = NULL, *outs = NULL, *result = NULL;
    if (proxy_check_alive(self) < 0) {
        return NULL;
    }
    int allowed = checker_has(self, proxy_state(self)->str_readable,
                              proxy_state(self)->str___iter__);
    if (allowed < 0) {
        return NULL;
    }
    if (!allowed) {
        proxy_deny(self, "iterate", NULL, WHY_NOT_EXPOSED);
        return NULL;
    }
    iterator = PyObject_GetIter(self->target);
    if (iterator == NULL) {
        proxy_sanitize(self);
        goto error;
    }
    items = PySequence_List(iterator);      /* list(iter(target)) */
    if (items == NULL) {
        proxy_sanitize(self);
        goto error;
    }
    /* items is ours alone: out() cannot change it */
    Py_ssize_t count = PyList_GET_SIZE(items);
    outs = PyList_New(count);
    if (outs == NULL) {
        goto error;
    }
    for (Py_ssize_t i = 0; i < count; i++) {
        PyObject *item = proxy_out(self, PyList_GET_ITEM(items, i));
        if (item == NULL) {
            goto error;
        }
        PyList_SET_ITEM(outs, i, item);
    }
    result = PyObject_GetIter(outs);

error:
    Py_XDECREF(iterator);
    Py_XDECREF(items);
    Py_XDECREF(outs);
    return result;
}

static int
Proxy_contains(ProxyObject *self, PyObject *item)
{
    if (proxy_check_alive(self) < 0) {
        return -1;
    }
    int allowed = checker_has(self, proxy_state(self)->str_readable,
                              proxy_state(self)->str___contains__);
    if (allowed < 0) {
        return -1;
    }
    if (!allowed) {
        return proxy_deny(self, "test membership", NULL, WHY_NOT_EXPOSED);
    }
    PyObject *inside = proxy_into(self, item);
    if (inside == NULL) {
        return -1;
    }
    int found = PySequence_Contains(self->target, inside);
    Py_DECREF(inside);
    if (found < 0) {
        return proxy_sanitize(self);
    }
    return found;
}

static int
Proxy_bool(ProxyObject *Py_UNUSED(self))
{
    return 1;
}

/* == and != compare the targets of two proxies by identity (any other
   operand is unequal); the orderings are not defined. */
static PyObject *
Proxy_richcompare(ProxyObject *self, PyObject *other, int op)
{
    if (op != Py_EQ && op != Py_NE) {
        Py_RETURN_NOTIMPLEMENTED;
    }
    if (proxy_check_alive(self) < 0) {
        return NULL;
    }
    int same = 0;
    if (Py_IS_TYPE(other, Py_TYPE(self))) {
        if (proxy_check_alive((ProxyObject *)other) < 0) {
            return NULL;
        }
        same = self->target == ((ProxyObject *)other)->target;
    }
    return PyBool_FromLong(op == Py_EQ ? same : !same);
}

/* hash((Proxy, id(target))), as the pure twin computes it. */
static Py_hash_t
Proxy_hash(ProxyObject *self)
{
    if (proxy_check_alive(self) < 0) {
        return -1;
    }
    PyObject *identity = PyLong_FromVoidPtr(self->target);
    if (identity == NULL) {
        return -1;
    }
    PyObject *key = PyTuple_Pack(2, (PyObject *)Py_TYPE(self), identity);
    Py_DECREF(identity);
    if (key == NULL) {
        return -1;
    }
    Py_hash_t hash = PyObject_Hash(key);
    Py_DECREF(key);
    return hash;
}

static PyObject *
Proxy_repr(ProxyObject *self)
{
    PyObject *type_name = NULL, *type_text = NULL, *result = NULL;
    if (proxy_check_alive(self) < 0) {
        return NULL;
    }
    type_name = target_type_name(proxy_state(self), self->target);
    if (type_name == NULL) {
        goto error;
    }
    type_text = PyObject_Format(type_name, NULL);
    if (type_text == NULL) {
        goto error;
    }
    result = PyUnicode_FromFormat("<%U (host object)>", type_text);

error:
    Py_XDECREF(type_name);
    Py_XDECREF(type_text);
    return result;
}

/* str(target) as an exact str when "__str__" is readable, else the repr. */
static PyObject *
Proxy_str(ProxyObject *self)
{
    if (proxy_check_alive(self) < 0) {
        return NULL;
    }
    int allowed = checker_has(self, proxy_state(self)->str_readable,
                              proxy_state(self)->str___str__);
    if (allowed < 0) {
        return NULL;
    }
    if (!allowed) {
        return Proxy_repr(self);
    }
    PyObject *text = PyObject_Str(self->target);
    if (text == NULL) {
        proxy_sanitize(self);
        return NULL;
    }
    PyObject *result = PyUnicode_FromObject(text);  /* str.__str__(text) */
    Py_DECREF(text);
    return result;
}

/* __format__(spec) = format(str(self), spec) */
static PyObject *
Proxy_format(ProxyObject *self, PyObject *spec)
{
    PyObject *text = Proxy_str(self);
    if (text == NULL) {
        return NULL;
    }
    PyObject *result = NULL;
    if (!PyUnicode_Check(spec)) {
        /* builtin format()'s own message */
        PyErr_Format(PyExc_TypeError, "format() argument 2 must be str, not %.50s",
                     spec == Py_None ? "None" : Py_TYPE(spec)->tp_name);
    }
    else {
        result = PyObject_Format(text, spec);
    }
    Py_DECREF(text);
    return result;
}

static PyObject *
Proxy_reduce(ProxyObject *self, PyObject *Py_UNUSED(ignored))
{
    if (proxy_check_alive(self) == 0) {
        proxy_deny(self, "pickle or copy", NULL, WHY_NOT_EXPOSED);
    }
    return NULL;
}

static PyObject *
Proxy_reduce_ex(ProxyObject *self, PyObject *Py_UNUSED(protocol))
{
    return Proxy_reduce(self, NULL);
}

/* sorted(name for name in checker.readable if not name.startswith("_")) */
static PyObject *
Proxy_dir(ProxyObject *self, PyObject *Py_UNUSED(ignored))
{
    native_state *state = proxy_state(self);
    PyObject *readable = NULL, *iterator = NULL, *name = NULL, *result = NULL;
    if (proxy_check_alive(self) < 0) {
        return NULL;
    }
    readable = PyObject_GetAttr(self->checker, state->str_readable);
    if (readable == NULL) {
        goto error;
    }
    iterator = PyObject_GetIter(readable);
    if (iterator == NULL) {
        goto error;
    }
    result = PyList_New(0);
    if (result == NULL) {
        goto error;
    }
    while ((name = PyIter_Next(iterator)) != NULL) {
        int hidden;
        if (PyUnicode_CheckExact(name)) {
            hidden = str_starts_with(name, "_");
        }
        else {
            /* anything else answers for itself, as in the pure twin */
            PyObject *answer = PyObject_CallMethodOneArg(
                name, state->str_startswith, state->str__);
            if (answer == NULL) {
                goto error;
            }
            hidden = PyObject_IsTrue(answer);
            Py_DECREF(answer);
            if (hidden < 0) {
                goto error;
            }
        }
        if (!hidden && PyList_Append(result, name) < 0) {
            goto error;
        }
        Py_CLEAR(name);
    }
    if (!PyErr_Occurred()) {
        PyList_Sort(result);
    }

error:
    if (PyErr_Occurred()) {
        Py_CLEAR(result);
    }
    Py_XDECREF(readable);
    Py_XDECREF(iterator);
    Py_XDECREF(name);
    return result;
}

/* The target is deliberately not visited.  gc.get_referents() lists what
   tp_traverse visits, so visiting the target would hand it to anyone who
   can call gc.get_referents on a proxy (and to gc.get_objects walkers).
   The price: the collector cannot see the proxy's reference to its target,
   so a reference cycle that runs through a target (target -> ... -> its
   proxy -> target) is never collected; it lives until the process ends.
   The membrane makes such cycles rare: into() hands host code targets and
   copies, never proxies, so a host object only holds a proxy when the host
   stores one it made itself.  Cycles through the checker or the membrane
   are collected normally. */
static int
Proxy_traverse(ProxyObject *self, visitproc visit, void *arg)
{
    Py_VISIT(Py_TYPE(self));
    Py_VISIT(self->checker);
    Py_VISIT(self->membrane);
    return 0;
}

static int
Proxy_clear(ProxyObject *self)
{
    Py_CLEAR(self->checker);
    Py_CLEAR(self->membrane);
    Py_CLEAR(self->target);
    return 0;
}

static void
Proxy_dealloc(ProxyObject *self)
{
    PyTypeObject *type = Py_TYPE(self);
    PyObject_GC_UnTrack(self);
    /* proxies of proxies of ... nest: deallocate them in a loop */
    Py_TRASHCAN_BEGIN(self, Proxy_dealloc)
    Py_CLEAR(self->checker);
    Py_CLEAR(self->membrane);
    Py_CLEAR(self->target);
    type->tp_free(self);
    Py_DECREF(type);
    Py_TRASHCAN_END
}

static PyMethodDef Proxy_methods[] = {
    {"__format__", (PyCFunction)Proxy_format, METH_O,
     "__format__($self, spec, /)\n--\n\nformat(str(self), spec)."},
    {"__reduce__", (PyCFunction)Proxy_reduce, METH_NOARGS,
     "__reduce__($self, /)\n--\n\nRefused: proxies are not pickled or copied."},
    {"__reduce_ex__", (PyCFunction)Proxy_reduce_ex, METH_O,
     "__reduce_ex__($self, protocol, /)\n--\n\n"
     "Refused: proxies are not pickled or copied."},
    {"__dir__", (PyCFunction)Proxy_dir, METH_NOARGS,
     "__dir__($self, /)\n--\n\nThe readable public names, sorted."},
    {NULL, NULL, 0, NULL},
};

/* Proxy(...) and Proxy.__new__(Proxy) from Python: refused with the pure
   twin's message.  Proxies come from make_proxy() only. */
static PyObject *
Proxy_new(PyTypeObject *Py_UNUSED(type), PyObject *Py_UNUSED(args),
          PyObject *Py_UNUSED(kwargs))
{
    PyErr_SetString(PyExc_TypeError, "cannot create 'Proxy' instances");
    return NULL;
}

static PyType_Slot Proxy_slots[] = {
    {Py_tp_new, Proxy_new},
    {Py_tp_dealloc, Proxy_dealloc},
    {Py_tp_traverse, Proxy_traverse},
    {Py_tp_clear, Proxy_clear},
    {Py_tp_getattro, Proxy_getattro},
    {Py_tp_setattro, Proxy_setattro},
    {Py_tp_call, Proxy_call},
    {Py_tp_iter, Proxy_iter},
    {Py_tp_richcompare, Proxy_richcompare},
    {Py_tp_hash, Proxy_hash},
    {Py_tp_repr, Proxy_repr},
    {Py_tp_str, Proxy_str},
    {Py_tp_methods, Proxy_methods},
    {Py_mp_subscript, Proxy_subscript},
    {Py_mp_ass_subscript, Proxy_ass_subscript},
    {Py_mp_length, Proxy_length},
    {Py_sq_length, Proxy_length},
    {Py_sq_item, Proxy_item},
    {Py_sq_ass_item, Proxy_ass_item},
    {Py_sq_contains, Proxy_contains},
    {Py_nb_bool, Proxy_bool},
    {Py_tp_doc, (void *)"A host object as the script sees it; the target is not reachable."},
    {0, NULL},
};

/* Not subclassable (no BASETYPE), not constructible from Python
   (Proxy_new), immutable, no __dict__ and no weak references. */
static PyType_Spec Proxy_spec = {
    .name = "safecompile.guards._native.Proxy",
    .basicsize = sizeof(ProxyObject),
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_IMMUTABLETYPE,
    .slots = Proxy_slots,
};

/* make_proxy(target, checker, membrane, /) */
static PyObject *
native_make_proxy(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 3) {
        PyErr_Format(PyExc_TypeError,
                     "make_proxy() takes exactly 3 arguments (%zd given)", nargs);
        return NULL;
    }
    PyTypeObject *type = get_state(module)->proxy_type;
    /* tp_alloc zero-fills and starts GC tracking. */
    ProxyObject *self = (ProxyObject *)type->tp_alloc(type, 0);
    if (self == NULL) {
        return NULL;
    }
    self->target = Py_NewRef(args[0]);
    self->checker = Py_NewRef(args[1]);
    self->membrane = Py_NewRef(args[2]);
    return (PyObject *)self;
}

/* unwrap(proxy, /): the target (host side only). */
static PyObject *
native_unwrap(PyObject *module, PyObject *proxy)
{
    if (!Py_IS_TYPE(proxy, get_state(module)->proxy_type)) {
        PyErr_SetString(PyExc_TypeError, "not a Proxy");
        return NULL;
    }
    if (proxy_check_alive((ProxyObject *)proxy) < 0) {
        return NULL;
    }
    return Py_NewRef(((ProxyObject *)proxy)->target);
}


/* ======================================================================
 * 4b. is_plain (helper "native proxy")
 *
 * The twin of _pure.is_plain and membrane.is_plain: an exact type in
 * `scalars` at any depth, or an exact list/tuple/dict/set/frozenset at
 * depth < max_depth whose items (dict keys and values) are plain.
 * ==================================================================== */

/* 1, 0, or -1 with an error set.  `seen` maps the address of each
   container found plain to the deepest depth it was found plain at: a
   container plain at depth d is plain at any depth up to d (more room
   below), so a structure that shares its parts (a = [a, a], sixty times)
   is checked once per part instead of once per path (2**60). */
static int
plain_check(PyObject *value, PyObject *scalars, long long max_depth,
            long long depth, PyObject *seen)
{
    PyTypeObject *kind = Py_TYPE(value);
    /* `type(value) in scalars`: hashes and compares like the set does */
    int plain = PySet_Contains(scalars, (PyObject *)kind);
    if (plain != 0 || depth >= max_depth) {
        return plain;
    }
    if (kind != &PyList_Type && kind != &PyTuple_Type && kind != &PyDict_Type
        && kind != &PySet_Type && kind != &PyFrozenSet_Type) {
        return 0;
    }
    PyObject *address = PyLong_FromVoidPtr(value);
    if (address == NULL) {
        return -1;
    }
    PyObject *known = PyDict_GetItemWithError(seen, address);  /* borrowed */
    if (known != NULL && PyLong_AsLongLong(known) >= depth) {
        Py_DECREF(address);
        return 1;
    }
    if (PyErr_Occurred()) {
        Py_DECREF(address);
        return -1;
    }
    if (Py_EnterRecursiveCall(" in is_plain")) {
        Py_DECREF(address);
        return -1;
    }
    plain = 1;
    if (kind == &PyList_Type || kind == &PyTuple_Type) {
        /* by index, re-reading the size: a list iterator does the same */
        for (Py_ssize_t i = 0; plain == 1 && i < PySequence_Fast_GET_SIZE(value); i++) {
            PyObject *item = Py_NewRef(PySequence_Fast_GET_ITEM(value, i));
            plain = plain_check(item, scalars, max_depth, depth + 1, seen);
            Py_DECREF(item);
        }
    }
    else if (kind == &PyDict_Type) {
        PyObject *key, *item;
        Py_ssize_t position = 0;
        while (plain == 1 && PyDict_Next(value, &position, &key, &item)) {
            Py_INCREF(key);
            Py_INCREF(item);
            plain = plain_check(key, scalars, max_depth, depth + 1, seen);
            if (plain == 1) {
                plain = plain_check(item, scalars, max_depth, depth + 1, seen);
            }
            Py_DECREF(key);
            Py_DECREF(item);
        }
    }
    else {
        PyObject *iterator = PyObject_GetIter(value), *item;
        if (iterator == NULL) {
            plain = -1;
        }
        else {
            while (plain == 1 && (item = PyIter_Next(iterator)) != NULL) {
                plain = plain_check(item, scalars, max_depth, depth + 1, seen);
                Py_DECREF(item);
            }
            if (plain == 1 && PyErr_Occurred()) {
                plain = -1;
            }
            Py_DECREF(iterator);
        }
    }
    Py_LeaveRecursiveCall();
    if (plain == 1) {
        PyObject *at = PyLong_FromLongLong(depth);
        if (at == NULL || PyDict_SetItem(seen, address, at) < 0) {
            plain = -1;
        }
        Py_XDECREF(at);
    }
    Py_DECREF(address);
    return plain;
}

/* is_plain(value, scalars, max_depth, /) */
static PyObject *
native_is_plain(PyObject *Py_UNUSED(module), PyObject *const *args,
                Py_ssize_t nargs)
{
    if (nargs != 3) {
        PyErr_Format(PyExc_TypeError,
                     "is_plain() takes exactly 3 arguments (%zd given)", nargs);
        return NULL;
    }
    PyObject *scalars = args[1];
    if (!PyFrozenSet_CheckExact(scalars)) {
        argument_type_error("scalars", "a frozenset", scalars);
        return NULL;
    }
    if (!PyLong_Check(args[2])) {
        argument_type_error("max_depth", "an int", args[2]);
        return NULL;
    }
    int overflow;
    long long max_depth = PyLong_AsLongLongAndOverflow(args[2], &overflow);
    if (max_depth == -1 && PyErr_Occurred()) {
        return NULL;
    }
    if (overflow != 0) {
        max_depth = overflow > 0 ? LLONG_MAX : -1;
    }
    PyObject *seen = PyDict_New();
    if (seen == NULL) {
        return NULL;
    }
    int plain = plain_check(args[0], scalars, max_depth, 0, seen);
    Py_DECREF(seen);
    if (plain < 0) {
        return NULL;
    }
    return PyBool_FromLong(plain);
}

static PyMethodDef native_functions[] = {
    {"make_proxy", (PyCFunction)(void (*)(void))native_make_proxy, METH_FASTCALL,
     "make_proxy(target, checker, membrane, /)\n--\n\n"
     "A proxy of target: checker has readable/writable (sets of names) and\n"
     "construct; membrane has out(value), into(value), sanitize(exc) and\n"
     "denied(message)."},
    {"unwrap", (PyCFunction)native_unwrap, METH_O,
     "unwrap(proxy, /)\n--\n\nThe target of proxy (host side only)."},
    {"is_plain", (PyCFunction)(void (*)(void))native_is_plain, METH_FASTCALL,
     "is_plain(value, scalars, max_depth, /)\n--\n\n"
     "Whether value is plain data: an exact type in scalars, or an exact\n"
     "list/tuple/dict/set/frozenset of plain data nested less than\n"
     "max_depth deep."},
    {NULL, NULL, 0, NULL},
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
    state->product_type = (PyTypeObject *)PyType_FromModuleAndSpec(
        module, &Product_spec, NULL);
    if (state->product_type == NULL
        || PyModule_AddType(module, state->product_type) < 0) {
        return -1;
    }
    /* --- native proxy --- */
    state->proxy_type = (PyTypeObject *)PyType_FromModuleAndSpec(
        module, &Proxy_spec, NULL);
    if (state->proxy_type == NULL) {
        return -1;
    }
    /* CPython's own messages ("'<' not supported between instances of
       ...", "unsupported operand type(s)", "... is not an acceptable base
       type") name a type by tp_name, which for a type made from a spec is
       the dotted spec name.  Scripts see those messages, and the pure twin
       says 'Proxy': point tp_name at the last component.  It stays inside
       the same string (3.11: the spec's; 3.12+: the type's own copy, which
       the type frees through its own pointer), so nothing else changes:
       __name__, __qualname__ and __module__ have their own storage. */
    const char *last_dot = strrchr(state->proxy_type->tp_name, '.');
    if (last_dot != NULL) {
        state->proxy_type->tp_name = last_dot + 1;
    }
#define INTERN_STRING(name)                                                 \
    state->str_##name = PyUnicode_InternFromString(#name);                  \
    if (state->str_##name == NULL) {                                        \
        return -1;                                                          \
    }
    NATIVE_STRINGS(INTERN_STRING)
#undef INTERN_STRING
    if (PyModule_AddType(module, state->proxy_type) < 0) {
        return -1;
    }
    /* --- end native proxy --- */
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
    Py_VISIT(state->product_type);
    Py_VISIT(state->proxy_type);    /* native proxy */
    return 0;
}

static int
native_clear(PyObject *module)
{
    native_state *state = get_state(module);
    Py_CLEAR(state->budget_type);
    Py_CLEAR(state->tickiter_type);
    Py_CLEAR(state->product_type);
    /* --- native proxy --- */
    Py_CLEAR(state->proxy_type);
#define CLEAR_STRING(name) Py_CLEAR(state->str_##name);
    NATIVE_STRINGS(CLEAR_STRING)
#undef CLEAR_STRING
    /* --- end native proxy --- */
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
    .m_methods = native_functions,      /* native proxy */
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
