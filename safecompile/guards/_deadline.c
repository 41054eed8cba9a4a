/* safecompile.guards._deadline: a wall-clock deadline that interrupts Python
 * code the step counter does not see.
 *
 * The step counter reads the clock at every tick, but a run can spend its
 * time in Python code that never ticks: the standard library's own loops
 * (textwrap, _strptime, enum, statistics, random.shuffle, encodings) are
 * compiled by CPython, not by safecompile.  watched(seconds, function) calls
 * function() with a deadline; when it passes, a watchdog thread makes the
 * interpreter raise TimeUp in the calling thread at its next eval-breaker
 * check (PyThreadState_SetAsyncExc), and again every REFIRE seconds until
 * the call returns (a bare `except:` only buys REFIRE seconds).  A single
 * C call that never returns to the bytecode loop is not interrupted: that
 * is the isolation layer's job.
 *
 * Invariant: no TimeUp is pending for a thread once its watched() call has
 * returned.  watched() unlinks its entry under the lock while holding the
 * GIL, and clears a pending exception if one was fired at this thread, all
 * in C, so no bytecode of the caller runs in between.  The watchdog fires
 * only with the GIL held and only after finding the entry still linked
 * (matched by serial number: entries live on their callers' C stacks and
 * addresses are reused).
 *
 * Locking: one mutex guards the list and the thread's state.  Order is
 * GIL, then mutex; the watchdog never waits for the GIL holding the mutex.
 * The watchdog is a bare pthread, started at the first watched() call and
 * never stopped; it holds no Python state and takes the GIL (with a
 * thread state of its own, created and dropped each time) only to fire.  It
 * is not a threading.Thread, so threading.enumerate() does not change.
 * After fork() the child starts with an empty list and no watchdog.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <time.h>

#if PY_VERSION_HEX >= 0x030C0000
#  define PyErr_GetRaisedException_compat() PyErr_GetRaisedException()
#  define PyErr_SetRaisedException_compat(exc) PyErr_SetRaisedException(exc)
#else
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

static void
PyErr_SetRaisedException_compat(PyObject *exc)
{
    PyObject *type = Py_NewRef((PyObject *)Py_TYPE(exc));
    PyObject *tb = PyException_GetTraceback(exc);
    PyErr_Restore(type, exc, tb);
}
#endif

#define REFIRE 0.05   /* seconds between repeated TimeUp while the call runs on */

typedef struct watch {
    struct watch *next;
    unsigned long thread_id;
    PyThreadState *tstate;   /* the watched thread's: alive while the entry is linked */
    unsigned long long serial;
    double due;       /* CLOCK_MONOTONIC seconds of the next firing */
    PyObject *error;  /* the TimeUp subclass to raise (borrowed: the call's argument) */
    int fired;        /* TimeUp has been set for this entry at least once */
} watch_t;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wake;           /* initialised once with CLOCK_MONOTONIC */
static pthread_once_t setup_once = PTHREAD_ONCE_INIT;
static int setup_failed;
static watch_t *watches;              /* under lock */
static int watchdog_running;          /* under lock; reset in a fork child */
static unsigned long long next_serial; /* under lock */
static PyObject *time_up;             /* written once under lock, never freed */
static PyObject *transparent;         /* frozenset of module names: written once, never freed */

static PyObject *sc_enter;            /* "__sc_enter__", interned once, never freed */
static PyObject *dunder_name;         /* "__name__", likewise */

/* Whether a frame of module `name` is passed over: its top-level package
 * is in `transparent`. */
static int
passed_over(PyObject *name)
{
    if (transparent == NULL) {
        return 0;
    }
    Py_ssize_t dot = PyUnicode_FindChar(name, '.', 0, PyUnicode_GET_LENGTH(name), 1);
    PyObject *top = dot >= 0 ? PyUnicode_Substring(name, 0, dot) : Py_NewRef(name);
    if (top == NULL) {
        PyErr_Clear();
        return 0;
    }
    int found = PySet_Contains(transparent, top);
    Py_DECREF(top);
    if (found < 0) {
        PyErr_Clear();
        return 0;
    }
    return found;
}

static double
now_monotonic(void)
{
    struct timespec ts;
    (void)clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void
init_cond(void)
{
    pthread_condattr_t attr;
    if (pthread_condattr_init(&attr) != 0) {
        setup_failed = 1;
        return;
    }
    if (pthread_condattr_setclock(&attr, CLOCK_MONOTONIC) != 0
            || pthread_cond_init(&wake, &attr) != 0) {
        setup_failed = 1;
    }
    (void)pthread_condattr_destroy(&attr);
}

/* In a fork child only the forking thread exists: no watchdog, and the
 * entries of other threads are gone.  The forking thread's own entries (a
 * fork inside a run) are dropped too; their watched() calls find them
 * missing and unlink nothing. */
static void
after_fork_child(void)
{
    (void)pthread_mutex_init(&lock, NULL);
    init_cond();
    watches = NULL;
    watchdog_running = 0;
}

static void
setup(void)
{
    init_cond();
    if (!setup_failed && pthread_atfork(NULL, NULL, after_fork_child) != 0) {
        setup_failed = 1;
    }
}

static int
interpreter_finalizing(void)
{
#if PY_VERSION_HEX >= 0x030D0000
    return Py_IsFinalizing();
#else
    return _Py_IsFinalizing();
#endif
}

/* Whether the thread's innermost code is the script's, and may be
 * interrupted.  Frames are read from the innermost outward: frames of
 * modules named in `transparent` (configure(): the modules scripts use,
 * and safecompile) are passed over; the first other frame decides: a
 * script frame (its globals hold the compiler's __sc_enter__) yes,
 * anything else no: the host's own code called by the script through a
 * grant, or run in the script's thread by the interpreter (a weakref or
 * gc callback, a host object's __del__), is never interrupted half-way;
 * it finishes, and the next firing or tick stops the run.  Called with the GIL and the mutex, for a linked entry
 * (so its thread is inside watched() and its thread state alive); no
 * Python code runs (str keys, exact-type lookups). */
static int
interruptible(PyThreadState *target)
{
    int verdict = 1;   /* no frame that says otherwise: the run's own code */
    PyFrameObject *frame = PyThreadState_GetFrame(target);
    while (frame != NULL) {
        PyObject *globals = PyFrame_GetGlobals(frame);
        int decided = 0;
        if (globals != NULL && PyDict_Check(globals)) {
            PyObject *marker = PyDict_GetItemWithError(globals, sc_enter);
            PyObject *name = marker == NULL && !PyErr_Occurred()
                ? PyDict_GetItemWithError(globals, dunder_name) : NULL;
            if (PyErr_Occurred()) {
                PyErr_Clear();
                verdict = 0;
                decided = 1;
            }
            else if (marker != NULL) {
                verdict = 1;
                decided = 1;
            }
            else if (name == NULL || !PyUnicode_CheckExact(name) || !passed_over(name)) {
                verdict = 0;
                decided = 1;
            }
        }
        Py_XDECREF(globals);
        if (decided) {
            Py_DECREF(frame);
            return verdict;
        }
        PyFrameObject *back = PyFrame_GetBack(frame);
        Py_DECREF(frame);
        frame = back;
    }
    return verdict;
}

/* Set the entry's error for the entry numbered serial on thread thread_id,
 * if it is still linked (so its error, an argument of a call still on
 * the stack, is alive).  Called with the mutex NOT held; takes the GIL. */
static void
fire(unsigned long thread_id, unsigned long long serial)
{
    if (interpreter_finalizing()) {
        return;
    }
    PyGILState_STATE gil = PyGILState_Ensure();
    pthread_mutex_lock(&lock);
    for (watch_t *w = watches; w != NULL; w = w->next) {
        if (w->serial == serial) {
            if (interruptible(w->tstate)) {
                w->fired = 1;
                (void)PyThreadState_SetAsyncExc(thread_id, w->error);
            }
            break;
        }
    }
    pthread_mutex_unlock(&lock);
    PyGILState_Release(gil);
}

static void *
watchdog_main(void *Py_UNUSED(arg))
{
    pthread_mutex_lock(&lock);
    for (;;) {
        double now = now_monotonic();
        double earliest = INFINITY;
        watch_t *due = NULL;
        for (watch_t *w = watches; w != NULL; w = w->next) {
            if (w->due <= now) {
                due = w;
                break;
            }
            if (w->due < earliest) {
                earliest = w->due;
            }
        }
        if (due != NULL) {
            unsigned long thread_id = due->thread_id;
            unsigned long long serial = due->serial;
            due->due = now + REFIRE;
            pthread_mutex_unlock(&lock);
            fire(thread_id, serial);
            pthread_mutex_lock(&lock);
            continue;
        }
        if (isinf(earliest)) {
            (void)pthread_cond_wait(&wake, &lock);
        }
        else {
            struct timespec until;
            until.tv_sec = (time_t)earliest;
            until.tv_nsec = (long)((earliest - (double)until.tv_sec) * 1e9);
            if (until.tv_nsec >= 1000000000L) {
                until.tv_sec += 1;
                until.tv_nsec -= 1000000000L;
            }
            (void)pthread_cond_timedwait(&wake, &lock, &until);
        }
    }
    return NULL;
}

/* With the mutex held: start the watchdog if this process has none. */
static int
ensure_watchdog(void)
{
    if (watchdog_running) {
        return 0;
    }
    pthread_attr_t attr;
    pthread_t thread;
    if (pthread_attr_init(&attr) != 0) {
        return -1;
    }
    (void)pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    (void)pthread_attr_setstacksize(&attr, 256 * 1024);
    int status = pthread_create(&thread, &attr, watchdog_main, NULL);
    (void)pthread_attr_destroy(&attr);
    if (status != 0) {
        return -1;
    }
    watchdog_running = 1;
    return 0;
}

/* The once-per-process setup (condition variable, fork handler): 0, or -1
 * with an exception set. */
static int
set_up(void)
{
    (void)pthread_once(&setup_once, setup);
    if (setup_failed) {
        PyErr_SetString(PyExc_RuntimeError, "the deadline watchdog could not be set up");
        return -1;
    }
    return 0;
}

/* set_up(), then start the watchdog if this process has none: 0, or -1
 * with an exception set.  Takes the mutex. */
static int
start_watchdog(void)
{
    if (set_up() < 0) {
        return -1;
    }
    pthread_mutex_lock(&lock);
    int status = ensure_watchdog();
    pthread_mutex_unlock(&lock);
    if (status < 0) {
        PyErr_SetString(PyExc_RuntimeError, "the deadline watchdog could not be started");
        return -1;
    }
    return 0;
}

static void
unlink_watch(watch_t *entry)
{
    for (watch_t **at = &watches; *at != NULL; at = &(*at)->next) {
        if (*at == entry) {
            *at = entry->next;
            return;
        }
    }
}

/* Raise and discard a TimeUp still pending for this thread (fired just as
 * the call returned).  It is raised the ordinary way, at the RESUME of a
 * one-expression code object, rather than cleared with
 * PyThreadState_SetAsyncExc(id, NULL): on 3.11 and 3.12 that would leave
 * the interpreter-wide eval-breaker bit set, and every thread would take
 * the slow path at every check until the next asynchronous exception.  The
 * call's own outcome (result, or the error set) is kept, unless something
 * other than TimeUp (a KeyboardInterrupt from a signal handler) comes up
 * while draining: that replaces it.  Called with the GIL, without the
 * mutex. */
static PyObject *
drain(PyObject *result)
{
    PyThreadState *tstate = PyThreadState_Get();
    for (int round = 0; round < 3 && tstate->async_exc != NULL; round++) {
        PyObject *saved = PyErr_GetRaisedException_compat();
        PyObject *code = Py_CompileString("None", "<deadline>", Py_eval_input);
        PyObject *space = code != NULL ? PyDict_New() : NULL;
        PyObject *value = space != NULL ? PyEval_EvalCode(code, space, space) : NULL;
        Py_XDECREF(space);
        Py_XDECREF(code);
        if (value != NULL) {
            Py_DECREF(value);
        }
        else if (PyErr_ExceptionMatches(time_up)) {
            PyErr_Clear();
        }
        else {
            Py_XDECREF(saved);
            Py_XDECREF(result);
            return NULL;   /* the new error stands */
        }
        if (saved != NULL) {
            PyErr_SetRaisedException_compat(saved);
        }
    }
    return result;
}

static PyObject *
deadline_watched(PyObject *Py_UNUSED(module), PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 2 && nargs != 3) {
        PyErr_Format(PyExc_TypeError, "watched() takes 2 or 3 arguments (%zd given)", nargs);
        return NULL;
    }
    PyObject *error = nargs == 3 ? args[2] : time_up;
    if (!PyType_Check(error) || !PyType_IsSubtype((PyTypeObject *)error, (PyTypeObject *)time_up)) {
        PyErr_SetString(PyExc_TypeError, "watched() error must be TimeUp or a subclass of it");
        return NULL;
    }
    double seconds = PyFloat_AsDouble(args[0]);
    if (seconds == -1.0 && PyErr_Occurred()) {
        return NULL;
    }
    if (isnan(seconds)) {
        PyErr_SetString(PyExc_ValueError, "watched() needs a number of seconds, not nan");
        return NULL;
    }
    if (seconds < 0.0) {
        seconds = 0.0;
    }
    /* No deadline: nothing to fire, so no watchdog thread is needed. */
    if ((isinf(seconds) ? set_up() : start_watchdog()) < 0) {
        return NULL;
    }
    watch_t entry = {
        .thread_id = PyThread_get_thread_ident(),
        .tstate = PyThreadState_Get(),
        .due = isinf(seconds) ? INFINITY : now_monotonic() + seconds,
        .error = error,
    };
    pthread_mutex_lock(&lock);
    entry.serial = ++next_serial;
    entry.next = watches;
    watches = &entry;
    (void)pthread_cond_signal(&wake);
    pthread_mutex_unlock(&lock);

    PyObject *result = PyObject_CallNoArgs(args[1]);

    pthread_mutex_lock(&lock);
    unlink_watch(&entry);
    /* Another of this thread's entries (an enclosing run) may have fired
     * too: its TimeUp must not surface in the caller's cleanup either; its
     * own step counter and the next firing stop the enclosing run. */
    int clear = entry.fired;
    for (watch_t *w = watches; w != NULL && !clear; w = w->next) {
        clear = w->thread_id == entry.thread_id && w->fired;
    }
    pthread_mutex_unlock(&lock);
    if (clear) {
        result = drain(result);
    }
    return result;
}

static PyObject *
deadline_start(PyObject *Py_UNUSED(module), PyObject *Py_UNUSED(ignored))
{
    if (start_watchdog() < 0) {
        return NULL;
    }
    Py_RETURN_NONE;
}

static PyObject *
deadline_configure(PyObject *Py_UNUSED(module), PyObject *names)
{
    if (!PyFrozenSet_CheckExact(names)) {
        PyErr_SetString(PyExc_TypeError, "configure() needs a frozenset of module names");
        return NULL;
    }
    pthread_mutex_lock(&lock);
    int first = transparent == NULL;
    if (first) {
        transparent = Py_NewRef(names);
    }
    pthread_mutex_unlock(&lock);
    (void)first;   /* later calls keep the first set (a re-imported runtime) */
    Py_RETURN_NONE;
}

static PyObject *
deadline_pending(PyObject *Py_UNUSED(module), PyObject *Py_UNUSED(ignored))
{
    unsigned long thread_id = PyThread_get_thread_ident();
    long count = 0;
    pthread_mutex_lock(&lock);
    for (watch_t *w = watches; w != NULL; w = w->next) {
        count += w->thread_id == thread_id;
    }
    pthread_mutex_unlock(&lock);
    return PyLong_FromLong(count);
}

PyDoc_STRVAR(watched_doc, "watched($module, seconds, function, error=TimeUp, /)\n--\n\n"
"Call function() and return its result; if it runs longer than seconds, raise\n"
"error (TimeUp or a subclass, instantiated with no arguments in this thread)\n"
"at the next bytecode boundary, and again every 50 ms until the call\n"
"returns.  None is left pending once this returns.");
PyDoc_STRVAR(configure_doc, "configure($module, names, /)\n--\n\n"
"The top-level module names (a frozenset) whose frames the watchdog passes\n"
"over when it decides whether the innermost code is the script's; the first\n"
"call sets them for the process.  Before it, only script frames are fired at.");
PyDoc_STRVAR(start_doc, "start($module, /)\n--\n\n"
"Start the watchdog thread now if this process has none (watched() starts it\n"
"too): for a process about to forbid new threads (RLIMIT_NPROC, seccomp).");
PyDoc_STRVAR(pending_doc, "pending($module, /)\n--\n\n"
"How many watched() calls are active on this thread (for tests).");

static PyMethodDef deadline_methods[] = {
    {"watched", (PyCFunction)(void (*)(void))deadline_watched, METH_FASTCALL, watched_doc},
    {"configure", deadline_configure, METH_O, configure_doc},
    {"start", deadline_start, METH_NOARGS, start_doc},
    {"pending", deadline_pending, METH_NOARGS, pending_doc},
    {NULL, NULL, 0, NULL},
};

static int
deadline_exec(PyObject *module)
{
    PyObject *enter = PyUnicode_InternFromString("__sc_enter__");
    PyObject *dname = PyUnicode_InternFromString("__name__");
    if (enter == NULL || dname == NULL) {
        Py_XDECREF(enter);
        Py_XDECREF(dname);
        return -1;
    }
    pthread_mutex_lock(&lock);
    if (sc_enter == NULL) {
        sc_enter = Py_NewRef(enter);
        dunder_name = Py_NewRef(dname);
    }
    pthread_mutex_unlock(&lock);
    Py_DECREF(enter);
    Py_DECREF(dname);
    /* Made outside the lock (it allocates); the first one made is kept
     * for the life of the process, so a re-imported module shares it. */
    PyObject *made = PyErr_NewExceptionWithDoc(
        "safecompile.guards._deadline.TimeUp",
        "A watched() call ran past its deadline.",
        PyExc_BaseException, NULL);
    if (made == NULL) {
        return -1;
    }
    pthread_mutex_lock(&lock);
    if (time_up == NULL) {
        time_up = Py_NewRef(made);
    }
    PyObject *kept = Py_NewRef(time_up);
    pthread_mutex_unlock(&lock);
    Py_DECREF(made);
    int status = PyModule_AddObjectRef(module, "TimeUp", kept);
    Py_DECREF(kept);
    return status;
}

static PyModuleDef_Slot deadline_slots[] = {
    {Py_mod_exec, deadline_exec},
    {0, NULL},
};

static struct PyModuleDef deadline_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "safecompile.guards._deadline",
    .m_doc = "A wall-clock deadline that interrupts Python code the step counter does not see.",
    .m_size = 0,
    .m_methods = deadline_methods,
    .m_slots = deadline_slots,
};

PyMODINIT_FUNC
PyInit__deadline(void)
{
    return PyModuleDef_Init(&deadline_module);
}
