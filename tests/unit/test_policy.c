/*
 * test_policy.c - the allowlist policy: the judge on allowed, unknown,
 * dangerous, Python 2, dotted and malformed names; every global of the
 * exploit corpus and of real benign models (benign.tsv and malicious.tsv
 * in tests/data/policy, written by gen-globals.py from the real
 * libraries); policy files, good and bad, each bad one with the message
 * it must produce.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "palisade/buf.h"
#include "palisade/scan.h"
#include "policy_int.h"

#define A PAL_GLOBAL_ALLOWED
#define U PAL_GLOBAL_UNKNOWN
#define D PAL_GLOBAL_DANGEROUS

static int
setup(void **state)
{
	struct pal_policy *p = NULL;
	struct pal_err err;

	if (pal_policy_new_default(&p, &err) != 0)
		return -1;
	*state = p;
	return 0;
}

static int
teardown(void **state)
{
	pal_policy_free(*state);
	return 0;
}

static enum pal_global_verdict
judge(const struct pal_policy *p, const char *m, const char *n,
    const char **why)
{
	return pal_policy_judge(p, m, strlen(m), n, strlen(n), why);
}

static const char *
verdict_name(enum pal_global_verdict v)
{
	return v == A ? "allowed" : v == U ? "unknown" : "dangerous";
}

/* Checks a verdict and, when want_why is not NULL, that why contains it. */
static void
expect(const struct pal_policy *p, const char *m, const char *n,
    enum pal_global_verdict want, const char *want_why)
{
	const char *why = "(unset)";
	enum pal_global_verdict got = judge(p, m, n, &why);

	if (got != want) {
		print_error("%s:%s: got %s (%s), want %s\n", m, n,
		    verdict_name(got), why ? why : "-", verdict_name(want));
		fail();
	}
	if (want == A && why != NULL) {
		print_error("%s:%s: allowed with a why: %s\n", m, n, why);
		fail();
	}
	if (want != A && (why == NULL || why[0] == '\0')) {
		print_error("%s:%s: no why\n", m, n);
		fail();
	}
	if (want_why != NULL && strstr(why, want_why) == NULL) {
		print_error("%s:%s: why '%s' lacks '%s'\n", m, n, why, want_why);
		fail();
	}
}

/* ------------------------------------------------------------------ */

static void
test_tables_sorted(void **state)
{
	size_t i;

	(void)state;
	assert_true(pal_allow_builtin_count > 500);
	for (i = 1; i < pal_allow_builtin_count; i++) {
		const struct pal_allow *a = &pal_allow_builtin[i - 1];
		const struct pal_allow *b = &pal_allow_builtin[i];
		int c = strcmp(a->module, b->module);

		if (c == 0)
			c = strcmp(a->name, b->name);
		if (c >= 0) {
			print_error("allowlist out of order at %s:%s\n",
			    b->module, b->name);
			fail();
		}
		assert_true((b->profiles & ~PAL_PROFILE_ALL) == 0);
		assert_true(b->profiles != 0);
	}
	for (i = 1; i < pal_compat_modules_count; i++)
		assert_true(strcmp(pal_compat_modules[i - 1].from,
		    pal_compat_modules[i].from) < 0);
	for (i = 1; i < pal_compat_names_count; i++) {
		const struct pal_compat_name *a = &pal_compat_names[i - 1];
		const struct pal_compat_name *b = &pal_compat_names[i];
		int c = strcmp(a->from_module, b->from_module);

		assert_true(c < 0 || (c == 0 && strcmp(a->from_name,
		    b->from_name) < 0));
	}
}

/* Nothing on the allowlist may be dangerous, and all of it is allowed. */
static void
test_allowlist_consistent(void **state)
{
	const struct pal_policy *p = *state;
	size_t i;

	for (i = 0; i < pal_allow_builtin_count; i++) {
		const struct pal_allow *e = &pal_allow_builtin[i];
		const char *why = NULL;

		if (pal_policy_builtin_dangerous(p, e->module,
		    strlen(e->module), e->name, strlen(e->name), &why)) {
			print_error("allowlisted %s:%s is dangerous: %s\n",
			    e->module, e->name, why);
			fail();
		}
		/* Off by default: the opt-in legacy profile. */
		expect(p, e->module, e->name,
		    (e->profiles & PAL_PROFILE_DEFAULT) ? A : U, NULL);
	}
}

/* Every dangerous path is dangerous, as a module and as a name. */
static void
test_danger_table(void **state)
{
	const struct pal_policy *p = *state;
	char module[PAL_POLICY_PATH_MAX];
	size_t i;

	assert_true(pal_danger_builtin_count > 300);
	for (i = 0; i < pal_danger_builtin_count; i++) {
		const char *path = pal_danger_builtin[i].path;
		const char *dot = strchr(path, '.');
		const char *why = NULL;

		assert_non_null(pal_danger_builtin[i].why);
		if (dot == NULL) {
			/* A whole module: anything in it. */
			expect(p, path, "anything", D, NULL);
			continue;
		}
		/* "a.b.c" as ("a", "b.c") and as ("a.b", "c"). */
		assert_true((size_t)(dot - path) < sizeof(module));
		memcpy(module, path, (size_t)(dot - path));
		module[dot - path] = '\0';
		assert_int_equal(judge(p, module, dot + 1, &why), D);
		dot = strrchr(path, '.');
		memcpy(module, path, (size_t)(dot - path));
		module[dot - path] = '\0';
		assert_int_equal(judge(p, module, dot + 1, &why), D);
	}
}

static void
test_allowed(void **state)
{
	const struct pal_policy *p = *state;

	expect(p, "torch._utils", "_rebuild_tensor_v2", A, NULL);
	expect(p, "torch._utils", "_rebuild_parameter", A, NULL);
	expect(p, "torch._tensor", "_rebuild_from_type_v2", A, NULL);
	expect(p, "torch", "FloatStorage", A, NULL);
	expect(p, "torch", "BFloat16Storage", A, NULL);
	expect(p, "torch.storage", "UntypedStorage", A, NULL);
	expect(p, "torch", "Size", A, NULL);
	expect(p, "torch", "float32", A, NULL);
	expect(p, "torch", "device", A, NULL);
	expect(p, "torch", "strided", A, NULL);
	expect(p, "torch", "channels_last", A, NULL);
	expect(p, "torch.nn.parameter", "Parameter", A, NULL);
	expect(p, "torch.nn.modules.linear", "Linear", A, NULL);
	expect(p, "torch.nn.modules.conv", "Conv2d", A, NULL);
	expect(p, "collections", "OrderedDict", A, NULL);
	expect(p, "numpy.core.multiarray", "_reconstruct", A, NULL);
	expect(p, "numpy._core.multiarray", "_reconstruct", A, NULL);
	expect(p, "numpy", "ndarray", A, NULL);
	expect(p, "numpy", "dtype", A, NULL);
	expect(p, "numpy.core.multiarray", "scalar", A, NULL);
	expect(p, "numpy.random._pickle", "__randomstate_ctor", A, NULL);
	expect(p, "numpy.ma.core", "MaskedArray", A, NULL);
	expect(p, "builtins", "set", A, NULL);
	expect(p, "builtins", "frozenset", A, NULL);
	expect(p, "builtins", "bytearray", A, NULL);
	expect(p, "builtins", "slice", A, NULL);
	expect(p, "builtins", "complex", A, NULL);
	expect(p, "collections", "defaultdict", A, NULL);
	expect(p, "copyreg", "_reconstructor", A, NULL);
	expect(p, "copyreg", "__newobj__", A, NULL);
	expect(p, "datetime", "datetime", A, NULL);
	expect(p, "decimal", "Decimal", A, NULL);
	expect(p, "uuid", "UUID", A, NULL);
	expect(p, "sklearn.tree._tree", "Tree", A, NULL);
	expect(p, "sklearn.linear_model._logistic", "LogisticRegression", A, NULL);
	expect(p, "sklearn.utils._bunch", "Bunch", A, NULL);
	expect(p, "sklearn._loss.loss", "HalfSquaredError", A, NULL);
	expect(p, "joblib.numpy_pickle", "NumpyArrayWrapper", A, NULL);
	expect(p, "scipy.sparse._csr", "csr_matrix", A, NULL);
}

static void
test_unknown(void **state)
{
	const struct pal_policy *p = *state;

	expect(p, "mypkg.models", "Net", U, "not on the allowlist");
	expect(p, "__main__", "Net", U, "not on the allowlist");
	expect(p, "builtins", "type", U, NULL);
	expect(p, "builtins", "print", U, NULL);
	expect(p, "collections", "namedtuple", U, NULL);
	expect(p, "torch", "ScriptObject", U, NULL);
	/* joblib's pre-0.10 wrappers read files the pickle names: opt-in. */
	expect(p, "joblib.numpy_pickle_compat", "NDArrayWrapper", U, NULL);
	expect(p, "joblib.numpy_pickle_compat", "ZNDArrayWrapper", U, NULL);
	expect(p, "numpy", "frombuffer", U, NULL);
	/* Methods of allowlisted classes are not allowlisted with them. */
	expect(p, "collections", "OrderedDict.fromkeys", U, NULL);
	expect(p, "builtins", "dict.update", U, NULL);
	/* Near misses of allowlisted names. */
	expect(p, "torch._utils", "_rebuild_tensor_v2 ", U, NULL);
	expect(p, "torch._util", "_rebuild_tensor_v2", U, NULL);
	expect(p, "Torch", "FloatStorage", U, NULL);
}

static void
test_dangerous(void **state)
{
	const struct pal_policy *p = *state;

	expect(p, "builtins", "eval", D, "code execution");
	expect(p, "builtins", "exec", D, "code execution");
	expect(p, "builtins", "compile", D, "builds code objects");
	expect(p, "builtins", "open", D, "file access");
	expect(p, "builtins", "__import__", D, "imports arbitrary modules");
	expect(p, "builtins", "getattr", D, "attribute access gadget");
	expect(p, "builtins", "setattr", D, "attribute access gadget");
	expect(p, "builtins", "globals", D, NULL);
	expect(p, "builtins", "breakpoint", D, NULL);
	expect(p, "os", "system", D, "spawns processes");
	expect(p, "posix", "system", D, "spawns processes");
	expect(p, "nt", "system", D, "spawns processes");
	expect(p, "os.path", "join", D, "spawns processes");
	expect(p, "subprocess", "Popen", D, "spawns processes");
	expect(p, "sys", "modules", D, NULL);
	expect(p, "socket", "create_connection", D, "network access");
	expect(p, "shutil", "rmtree", D, "file access");
	expect(p, "importlib", "import_module", D, "imports arbitrary modules");
	expect(p, "pkgutil", "resolve_name", D, "resolves arbitrary names");
	expect(p, "runpy", "_run_code", D, "code execution");
	expect(p, "marshal", "loads", D, "builds code objects");
	expect(p, "pickle", "loads", D, "nested deserialization");
	expect(p, "_pickle", "loads", D, "nested deserialization");
	expect(p, "types", "CodeType", D, "builds code objects");
	expect(p, "types", "FunctionType", D, "builds code objects");
	expect(p, "operator", "attrgetter", D, "attribute access gadget");
	expect(p, "operator", "methodcaller", D, "attribute access gadget");
	expect(p, "operator", "itemgetter", D, "attribute access gadget");
	expect(p, "functools", "partial", D, NULL);
	expect(p, "io", "FileIO", D, "file access");
	expect(p, "_io", "open", D, "file access");
	expect(p, "tempfile", "mkstemp", D, "file access");
	expect(p, "ctypes", "CDLL", D, "loads native code");
	expect(p, "webbrowser", "open", D, NULL);
	expect(p, "urllib.request", "urlopen", D, "network access");
	expect(p, "requests", "get", D, "network access");
	expect(p, "asyncio", "create_subprocess_shell", D, NULL);
	expect(p, "multiprocessing", "Process", D, "spawns processes");
	expect(p, "threading", "Thread", D, NULL);
	expect(p, "uuid", "_get_command_stdout", D, "spawns processes");
	expect(p, "logging", "FileHandler", D, "file access");
	expect(p, "logging.handlers", "SocketHandler", D, NULL);
	expect(p, "yaml", "unsafe_load", D, "YAML");
	expect(p, "torch", "load", D, "torch.load runs a nested pickle");
	expect(p, "torch.serialization", "load", D, "torch.load");
	expect(p, "torch.storage", "_load_from_bytes", D, "torch.load");
	expect(p, "torch.jit", "load", D, "TorchScript");
	expect(p, "torch.hub", "load", D, "network access");
	expect(p, "torch.ops", "load_library", D, NULL);
	expect(p, "torch._C", "_load_for_lite_interpreter", D, NULL);
	expect(p, "numpy", "load", D, "nested deserialization");
	expect(p, "numpy.testing._private.utils", "runstring", D,
	    "evaluates Python source");
	expect(p, "numpy.f2py.crackfortran", "getlincoef", D, NULL);
	expect(p, "numpy.core", "_ufunc_reconstruct", D,
	    "imports arbitrary modules");
	expect(p, "joblib", "load", D, "nested deserialization");
	expect(p, "jinja2", "Template", D, "templates");
	expect(p, "sympy", "sympify", D, "evaluates");
	expect(p, "keras.models", "load_model", D, NULL);
	expect(p, "antigravity", "fly", D, "web browser");
	/* The module alone is imported first: its name decides. */
	expect(p, "os", "does_not_exist", D, "spawns processes");
}

/* Protocol 0-2 names, as _compat_pickle maps them. */
static void
test_compat(void **state)
{
	const struct pal_policy *p = *state;

	expect(p, "__builtin__", "set", A, NULL);
	expect(p, "__builtin__", "object", A, NULL);
	expect(p, "__builtin__", "xrange", A, NULL);	/* builtins.range */
	expect(p, "copy_reg", "_reconstructor", A, NULL);
	expect(p, "copy_reg", "__newobj__", A, NULL);
	expect(p, "UserDict", "UserDict", A, NULL);
	expect(p, "__builtin__", "eval", D, "code execution");
	expect(p, "__builtin__", "getattr", D, "attribute access gadget");
	expect(p, "__builtin__", "apply", D, NULL);
	expect(p, "__builtin__", "reduce", D, NULL);	/* functools.reduce */
	expect(p, "cPickle", "loads", D, "nested deserialization");
	expect(p, "commands", "getoutput", D, "spawns processes");
	expect(p, "httplib", "HTTPSConnection", D, "network access");
	expect(p, "urllib2", "urlopen", D, "network access");
	expect(p, "exceptions", "ValueError", U, NULL);	/* builtins.ValueError */
	expect(p, "dbm", "open", D, "file access");
	/* A raw name that still resolves in Python 3 must pass on its own. */
	expect(p, "multiprocessing", "TimeoutError", D, NULL);
	expect(p, "_elementtree", "Element", U, NULL);
}

/* Protocol 4 dotted names walk attributes. */
static void
test_dotted(void **state)
{
	const struct pal_policy *p = *state;

	expect(p, "torch", "nn.modules.linear.Linear", A, NULL);
	expect(p, "torch.nn", "modules.linear.Linear", A, NULL);
	expect(p, "torch._utils", "_rebuild_tensor_v2", A, NULL);
	/* torch.nn.utils.spectral_norm is also a function: walks differ. */
	expect(p, "torch.nn.utils.spectral_norm", "SpectralNorm", A, NULL);
	expect(p, "torch.nn.utils", "spectral_norm.SpectralNorm", U, NULL);
	expect(p, "numpy", "testing._private.utils.os.system", D, NULL);
	expect(p, "numpy", "testing._private.utils.runstring", D,
	    "evaluates Python source");
	expect(p, "torch", "serialization.os.system", D,
	    "dangerous module through an attribute");
	expect(p, "torch", "serialization.load", D, "torch.load");
	expect(p, "torch", "load.__call__", D, "torch.load");
	expect(p, "numpy", "os", D, "dangerous module through an attribute");
	expect(p, "sklearn.tree._tree", "Tree.sys", D, NULL);
	expect(p, "collections", "OrderedDict.__init__.__globals__", D,
	    "dunder");
	expect(p, "builtins", "dict.__class__.__subclasses__", D, "dunder");
	expect(p, "numpy", "__builtins__", D, "dunder");
	expect(p, "collections", "__builtins__.eval", D, NULL);
	expect(p, "sklearn.tree._tree", "Tree.load", D,
	    "dangerous callable by name");
	expect(p, "mypkg.util", "eval", D, "dangerous callable by name");
	expect(p, "mypkg.io", "loads", D, "dangerous callable by name");
	expect(p, "torch.nn.modules.linear", "Linear.forward.eval", D, NULL);
	expect(p, "builtins", "str.format", D, "attribute access gadget");
	/* Module objects: a pickle could overwrite their attributes. */
	expect(p, "torch", "_utils", D, "module object");
	expect(p, "torch", "nn", D, "module object");
	expect(p, "torch.nn", "modules", D, "module object");
	expect(p, "numpy", "core.multiarray", D, "module object");
	/* The exploits of the corpus. */
	expect(p, "idlelib.pyshell", "ModifiedInterpreter.runcode", D,
	    "IDE internals");
	expect(p, "trace", "Trace.runctx", D, "profiler or tracer");
	expect(p, "lib2to3.pgen2.grammar", "Grammar.loads", D,
	    "nested deserialization");
	expect(p, "lib2to3.pgen2.pgen", "ParserGenerator.make_label", D,
	    "evaluates Python source");
	expect(p, "torch._dynamo.guards", "GuardBuilder.get", D, "guard");
	expect(p, "torch.utils.bottleneck.__main__", "run_cprofile", D,
	    "profiler");
	expect(p, "asyncio.unix_events", "_UnixSubprocessTransport._start", D,
	    NULL);
}

static void
test_malformed(void **state)
{
	const struct pal_policy *p = *state;
	const char *why = NULL;
	char big[3000];

	expect(p, "", "set", U, "empty");
	expect(p, "builtins", "", U, "empty");
	expect(p, "", "", U, "empty");
	expect(p, "builtins.", "set", U, "not a Python identifier");
	expect(p, ".builtins", "set", U, "not a Python identifier");
	expect(p, "torch", "nn..modules", U, "not a Python identifier");
	expect(p, "torch", "_utils.", U, NULL);
	expect(p, "torch", "<locals>.x", U, NULL);
	expect(p, "bad module", "set", U, NULL);
	expect(p, "collections", "Ordered Dict", U, NULL);
	expect(p, "collections", "1OrderedDict", U, NULL);
	expect(p, "coll\xc3\xa9\x63tions", "OrderedDict", U, NULL);
	expect(p, "collections", "OrderedDict\n", U, NULL);
	/* What is reached before the walk fails still counts. */
	expect(p, "os.\x01", "system", D, "spawns processes");
	expect(p, "os", "sys tem", D, "spawns processes");
	expect(p, "numpy", "testing.\xff", D, NULL);
	expect(p, "numpy", "os.<bad>", D, NULL);

	/* NUL bytes: lengths, not terminators, delimit the strings. */
	assert_int_equal(pal_policy_judge(p, "builtins\0x", 10, "set", 3,
	    &why), U);
	assert_int_equal(pal_policy_judge(p, "builtins", 8, "se\0t", 4,
	    &why), U);
	assert_int_equal(pal_policy_judge(p, "os\0", 3, "system", 6, &why), U);
	assert_int_equal(pal_policy_judge(p, "os", 2, "system\0", 7, &why), D);
	/* Lengths shorter than the strings: only the prefix counts. */
	assert_int_equal(pal_policy_judge(p, "osx", 2, "x", 1, &why), D);
	assert_int_equal(pal_policy_judge(p, "torch._utilsXYZ", 12,
	    "_rebuild_tensor_v2junk", 18, &why), A);
	assert_null(why);
	/* why may be NULL. */
	assert_int_equal(pal_policy_judge(p, "os", 2, "system", 6, NULL), D);

	/* Too long and too deep. */
	memset(big, 'a', sizeof(big));
	assert_int_equal(pal_policy_judge(p, big, sizeof(big), "x", 1, &why),
	    U);
	assert_non_null(strstr(why, "too long"));
	assert_int_equal(pal_policy_judge(p, "builtins", 8, big, sizeof(big),
	    &why), U);
	for (size_t i = 1; i < sizeof(big); i += 2)
		big[i] = '.';
	assert_int_equal(pal_policy_judge(p, "torch", 5, big, 201, &why), U);
	assert_non_null(strstr(why, "too long"));
	/* Long, but a dangerous module came first. */
	memcpy(big, "os.", 3);
	assert_int_equal(pal_policy_judge(p, big, sizeof(big), "x", 1, &why),
	    D);
}

/* ------------------------------------------------------------------
 * The globals of real pickles.
 */

static char *
data_path(const char *rel)
{
	const char *base = getenv("PAL_TEST_DATA");
	static char path[4096];
	int n;

	n = snprintf(path, sizeof(path), "%s/%s",
	    base != NULL ? base : "tests/data", rel);
	assert_true(n > 0 && (size_t)n < sizeof(path));
	return path;
}

static enum pal_global_verdict
verdict_of(const char *s)
{
	if (strcmp(s, "allowed") == 0)
		return A;
	if (strcmp(s, "unknown") == 0)
		return U;
	assert_string_equal(s, "dangerous");
	return D;
}

/* Splits a TSV line in place into at most max fields. */
static size_t
split_tabs(char *line, char **f, size_t max)
{
	size_t n = 0;
	char *t;

	line[strcspn(line, "\r\n")] = '\0';
	while (n < max) {
		f[n++] = line;
		if ((t = strchr(line, '\t')) == NULL)
			break;
		*t = '\0';
		line = t + 1;
	}
	return n;
}

static void
test_benign_globals(void **state)
{
	const struct pal_policy *p = *state;
	char line[1024], *f[4];
	size_t rows = 0, allowed = 0;
	FILE *fp = fopen(data_path("policy/benign.tsv"), "r");

	assert_non_null(fp);
	while (fgets(line, sizeof(line), fp) != NULL) {
		if (line[0] == '#')
			continue;
		assert_int_equal(split_tabs(line, f, 4), 4);
		expect(p, f[0], f[1], verdict_of(f[2]), NULL);
		allowed += verdict_of(f[2]) == A;
		rows++;
	}
	fclose(fp);
	assert_true(rows >= 80);
	assert_true(allowed >= rows - 5);
}

struct file_seen {
	char name[128];
	int dangerous;
};

static void
test_malicious_globals(void **state)
{
	const struct pal_policy *p = *state;
	static struct file_seen files[256];
	size_t nfiles = 0, rows = 0, i;
	char line[1024], *f[4];
	struct dirent *de;
	DIR *d;
	FILE *fp = fopen(data_path("policy/malicious.tsv"), "r");

	assert_non_null(fp);
	while (fgets(line, sizeof(line), fp) != NULL) {
		enum pal_global_verdict want;

		if (line[0] == '#')
			continue;
		assert_int_equal(split_tabs(line, f, 4), 4);
		want = verdict_of(f[3]);
		expect(p, f[1], f[2], want, NULL);
		rows++;
		for (i = 0; i < nfiles; i++)
			if (strcmp(files[i].name, f[0]) == 0)
				break;
		if (i == nfiles) {
			assert_true(nfiles < 256);
			assert_true(strlen(f[0]) < sizeof(files[0].name));
			memcpy(files[i].name, f[0], strlen(f[0]) + 1);
			nfiles++;
		}
		files[i].dangerous += want == D;
	}
	fclose(fp);
	assert_true(rows >= 100);
	/* Every exploit file names at least one dangerous global. */
	for (i = 0; i < nfiles; i++) {
		if (files[i].dangerous == 0) {
			print_error("%s: nothing dangerous\n", files[i].name);
			fail();
		}
	}
	/* And every GHSA file of the corpus is in the table. */
	d = opendir(data_path("picklescan/data2"));
	assert_non_null(d);
	while ((de = readdir(d)) != NULL) {
		char name[300];
		int found = 0;

		if (strncmp(de->d_name, "GHSA-", 5) != 0)
			continue;
		snprintf(name, sizeof(name), "data2/%s", de->d_name);
		for (i = 0; i < nfiles; i++)
			found |= strcmp(files[i].name, name) == 0;
		if (!found) {
			print_error("%s: not in malicious.tsv (rerun "
			    "gen-globals.py)\n", name);
			fail();
		}
	}
	closedir(d);
}

/* ------------------------------------------------------------------
 * Policy files.
 */

static int
load(struct pal_policy *p, const char *text, struct pal_err *err)
{
	pal_err_clear(err);
	return pal_policy_load_buffer(p, text, strlen(text), "test.yaml", err);
}

static void
test_file_good(void **state)
{
	struct pal_policy *p = *state;
	struct pal_err err;

	assert_int_equal(load(p, "version: 1\n", &err), 0);
	expect(p, "torch._utils", "_rebuild_tensor_v2", A, NULL);
	assert_int_equal(load(p,
	    "# our models\n"
	    "version: 1\n"
	    "allow:\n"
	    "  - mypkg.models:Net          # the network\n"
	    "  - \"mypkg.models:Net.Config\"\n"
	    "  - 'mypkg.layers.*'\n"
	    "deny: [numpy.polynomial.*, \"collections:Counter\"]\n", &err), 0);
	expect(p, "mypkg.models", "Net", A, NULL);
	expect(p, "mypkg.models", "Net.Config", A, NULL);
	expect(p, "mypkg", "models.Net", A, NULL);
	expect(p, "mypkg.models", "Other", U, NULL);
	expect(p, "mypkg.layers", "Conv", A, NULL);
	expect(p, "mypkg.layers.deep", "Block.Inner", A, NULL);
	expect(p, "mypkg", "layers.deep.Block", A, NULL);
	expect(p, "mypkg.layersX", "Conv", U, NULL);
	expect(p, "mypkg", "Conv", U, NULL);
	/* A wildcard never beats the dangerous rules. */
	expect(p, "mypkg.layers", "Conv.__reduce__", D, "dunder");
	expect(p, "mypkg.layers", "os", D, "dangerous module");
	expect(p, "mypkg.layers", "helpers.eval", D, NULL);
	expect(p, "mypkg", "models", D, "module object");
	expect(p, "mypkg", "layers", D, "module object");
	/* Deny escalates to dangerous, for whole modules and names. */
	expect(p, "numpy.polynomial.polynomial", "Polynomial", D,
	    "denied by policy");
	expect(p, "numpy", "polynomial.polynomial.Polynomial", D,
	    "denied by policy");
	expect(p, "collections", "Counter", D, "denied by policy");
	expect(p, "collections", "Counter.fromkeys", D, "denied by policy");
	expect(p, "collections", "OrderedDict", A, NULL);
	/* The same entries again, and one more: merged without duplicates. */
	assert_int_equal(load(p, "version: 1\nallow: [mypkg.models:Net, "
	    "a.b:C]\ndeny: [\"collections:Counter\"]\n", &err), 0);
	assert_int_equal(p->nallow, 3);
	assert_int_equal(p->nallow_mod, 1);
	assert_int_equal(p->ndeny, 2);
	expect(p, "a.b", "C", A, NULL);
	/* Empty lists are lists. */
	assert_int_equal(load(p, "version: 1\nallow: []\ndeny: []\n", &err), 0);
}

static void
test_file_profiles(void **state)
{
	struct pal_policy *p = *state;
	struct pal_err err;

	assert_int_equal(load(p, "version: 1\nprofiles: [numpy]\n", &err), 0);
	expect(p, "numpy", "ndarray", A, NULL);
	expect(p, "torch._utils", "_rebuild_tensor_v2", U, NULL);
	expect(p, "collections", "OrderedDict", U, NULL);
	expect(p, "builtins", "set", U, NULL);
	/* Dangerous stays dangerous whatever the profiles. */
	expect(p, "builtins", "eval", D, NULL);

	assert_int_equal(load(p, "version: 1\nprofiles:\n  - torch\n", &err), 0);
	expect(p, "torch._utils", "_rebuild_tensor_v2", A, NULL);
	expect(p, "collections", "OrderedDict", A, NULL);  /* torch needs it */
	expect(p, "builtins", "set", U, NULL);
	expect(p, "numpy", "ndarray", U, NULL);
	expect(p, "torch", "nn.modules.linear.Linear", A, NULL);

	assert_int_equal(load(p, "version: 1\nprofiles: [sklearn, joblib, "
	    "scipy, builtins]\n", &err), 0);
	expect(p, "sklearn.tree._tree", "Tree", A, NULL);
	expect(p, "joblib.numpy_pickle", "NumpyArrayWrapper", A, NULL);
	expect(p, "scipy.sparse._csr", "csr_matrix", A, NULL);
	expect(p, "builtins", "set", A, NULL);
	expect(p, "torch", "Size", U, NULL);
	expect(p, "joblib.numpy_pickle_compat", "NDArrayWrapper", U, NULL);

	assert_int_equal(load(p, "version: 1\nprofiles: [joblib, "
	    "joblib-legacy]\n", &err), 0);
	expect(p, "joblib.numpy_pickle_compat", "NDArrayWrapper", A, NULL);
	expect(p, "joblib.numpy_pickle_compat", "ZNDArrayWrapper", A, NULL);
	expect(p, "joblib.numpy_pickle", "NumpyArrayWrapper", A, NULL);

	/* No profile at all: only what the file allows. */
	assert_int_equal(load(p, "version: 1\nprofiles: []\n"
	    "allow: [\"builtins:set\"]\n", &err), 0);
	expect(p, "builtins", "set", A, NULL);
	expect(p, "builtins", "frozenset", U, NULL);
	expect(p, "__builtin__", "set", A, NULL);
}

/* Compat mapping with a name that still resolves in Python 3. */
static void
test_file_compat_live(void **state)
{
	struct pal_policy *p = *state;
	struct pal_err err;

	assert_int_equal(load(p, "version: 1\nallow: "
	    "[xml.etree.ElementTree:Element]\n", &err), 0);
	expect(p, "xml.etree.ElementTree", "Element", A, NULL);
	/* _elementtree exists in Python 3: it must pass on its own too. */
	expect(p, "_elementtree", "Element", U, NULL);
	assert_int_equal(load(p, "version: 1\nallow: [_elementtree:Element]\n",
	    &err), 0);
	expect(p, "_elementtree", "Element", A, NULL);
}

struct bad_case {
	const char *text;
	const char *msg;	/* expected in err.msg */
};

static const struct bad_case bad_cases[] = {
	{ "", "test.yaml:1:1: empty policy file" },
	{ "# only a comment\n", "empty policy file" },
	{ "version: 2\n", "test.yaml:1:10: 'version' must be 1" },
	{ "version: '1'\n", "'version' must be 1" },
	{ "version: 1.0\n", "'version' must be 1" },
	{ "version: [1]\n", "'version' must be 1" },
	{ "allow: []\n", "test.yaml:1:1: missing 'version: 1'" },
	{ "version: 1\nallowed: []\n",
	    "test.yaml:2:1: unknown key 'allowed' (known: version, profiles, "
	    "allow, deny)" },
	{ "version: 1\nallow: []\nallow: []\n",
	    "test.yaml:3:1: duplicate key 'allow'" },
	{ "version: 1\nversion: 1\n", "test.yaml:2:1: duplicate key 'version'" },
	{ "version: 1\nallow: mypkg.*\n", "test.yaml:2:8: 'allow' must be a list" },
	{ "version: 1\nallow:\n", "'allow' must be a list" },
	{ "version: 1\ndeny: {a: b}\n", "'deny' must be a list" },
	{ "version: 1\nallow:\n  - [a]\n",
	    "test.yaml:3:5: 'allow' entries must be strings" },
	{ "version: 1\nallow:\n  - os:system\n",
	    "test.yaml:3:5: allow entry 'os:system' is on the dangerous list "
	    "(spawns processes); a policy file cannot allow it" },
	{ "version: 1\nallow: [\"builtins:eval\"]\n",
	    "allow entry 'builtins:eval' is on the dangerous list (code "
	    "execution: evaluates Python source)" },
	{ "version: 1\nallow: [os.*]\n",
	    "allow entry 'os.*' is on the dangerous list (spawns processes)" },
	{ "version: 1\nallow: [os.path.*]\n", "allow entry 'os.path.*' is on "
	    "the dangerous list" },
	{ "version: 1\nallow: [torch:load]\n", "torch.load runs a nested pickle" },
	{ "version: 1\nallow: [torch.jit.*]\n", "TorchScript" },
	{ "version: 1\nallow: [\"numpy:testing._private.utils.os.system\"]\n",
	    "is on the dangerous list" },
	{ "version: 1\nallow: [\"mypkg:Net.__reduce__\"]\n", "dunder" },
	{ "version: 1\nallow: [\"mypkg.util:os\"]\n", "dangerous module" },
	{ "version: 1\nallow: [\"mypkg.util:open\"]\n", "dangerous callable" },
	{ "version: 1\nallow: [\"torch:_utils\"]\n", "module object" },
	{ "version: 1\nallow: [\"__builtin__:eval\"]\n",
	    "allow entry '__builtin__:eval' is on the dangerous list" },
	{ "version: 1\nallow: [mypkg]\n", "allow entry 'mypkg': expected "
	    "module:qualname or module.*" },
	{ "version: 1\nallow: [\"mypkg:\"]\n", "expected module:qualname" },
	{ "version: 1\nallow: [\":Net\"]\n", "expected module:qualname" },
	{ "version: 1\nallow: [\"my pkg:Net\"]\n", "expected module:qualname" },
	{ "version: 1\nallow: [mypkg.*.x]\n", "expected module:qualname" },
	{ "version: 1\nallow: [\"mypkg:*\"]\n", "expected module:qualname" },
	{ "version: 1\nallow: [\"a..b:c\"]\n", "expected module:qualname" },
	{ "version: 1\nallow: [\"1abc:x\"]\n", "expected module:qualname" },
	{ "version: 1\nallow: [\"a:B:C\"]\n", "expected module:qualname" },
	{ "version: 1\nallow: [\".*\"]\n", "expected module:qualname" },
	{ "version: 1\nallow: [\"a\\0b:c\"]\n", "allow entry 'a\\x00b:c'" },
	{ "version: 1\ndeny: [\"\"]\n", "deny entry '': empty" },
	{ "version: 1\ndeny: [\"a:b\\u00e9\"]\n", "expected module:qualname" },
	{ "version: 1\nallow: [a:b, c:d, a:b]\n",
	    "test.yaml:2:19: duplicate allow entry 'a:b'" },
	{ "version: 1\ndeny:\n  - m.*\n  - m.*\n",
	    "test.yaml:4:5: duplicate deny entry 'm.*'" },
	{ "version: 1\nprofiles: [tensorflow]\n",
	    "test.yaml:2:12: unknown profile 'tensorflow' (known: builtins, "
	    "torch, numpy, sklearn, joblib, scipy, joblib-legacy)" },
	{ "version: 1\nprofiles: [torch, torch]\n", "duplicate profile 'torch'" },
	{ "version: 1\nprofiles: torch\n", "'profiles' must be a list" },
	{ "version: 1\nprofiles: [[torch]]\n", "profile names must be strings" },
	{ "version: 1\nallow: &x [a:b]\ndeny: *x\n",
	    "test.yaml:2:8: anchors and tags are not allowed" },
	{ "version: 1\ndeny: *x\n", "test.yaml:2:7: aliases are not allowed" },
	{ "version: !!int 1\n", "anchors and tags are not allowed" },
	{ "!policy\nversion: 1\n", "anchors and tags are not allowed" },
	{ "version: 1\n---\nversion: 1\n", "only one document is allowed" },
	{ "- version\n", "expected a mapping" },
	{ "version\n", "expected a mapping" },
	{ "? [a]\n: b\n", "keys must be strings" },
	{ "version: 1\nallow: [a:b\n", "test.yaml:3:1: YAML syntax" },
	{ "version: 1\n\tallow: []\n", "YAML syntax" },
	{ "version: 1\nallow: [\"a:\xff\"]\n", "YAML syntax" },
	{ "version: 1\nallow: [\"a:b\"\x01]\n", "YAML syntax" },
	{ NULL, NULL },
};

/* Snapshot of what a failed load must leave as it was. */
struct snap {
	unsigned profiles;
	size_t nallow, nallow_mod, ndeny;
};

static void
snap(const struct pal_policy *p, struct snap *s)
{
	memset(s, 0, sizeof(*s));
	s->profiles = p->profiles;
	s->nallow = p->nallow;
	s->nallow_mod = p->nallow_mod;
	s->ndeny = p->ndeny;
}

static void
test_file_bad(void **state)
{
	struct pal_policy *p = *state;
	struct pal_err err;
	struct snap before, after;
	const struct bad_case *c;

	assert_int_equal(load(p, "version: 1\nprofiles: [torch, numpy]\n"
	    "allow: [keep.me:Please]\ndeny: [numpy.fft.*]\n", &err), 0);
	snap(p, &before);
	for (c = bad_cases; c->text != NULL; c++) {
		int r = load(p, c->text, &err);

		if (r != PAL_ERR_POLICY || err.code != PAL_ERR_POLICY ||
		    strstr(err.msg, c->msg) == NULL) {
			print_error("policy %s\n  returned %d '%s'\n  want '%s'\n",
			    c->text, r, err.msg, c->msg);
			fail();
		}
		snap(p, &after);
		assert_memory_equal(&before, &after, sizeof(before));
	}
	/* Nothing of a rejected file takes effect, not even its good part. */
	assert_int_equal(load(p, "version: 1\nprofiles: [sklearn]\n"
	    "allow: [good.mod:A]\ndeny: [collections:OrderedDict, bad]\n",
	    &err), PAL_ERR_POLICY);
	expect(p, "good.mod", "A", U, NULL);
	expect(p, "collections", "OrderedDict", A, NULL);
	expect(p, "torch", "Size", A, NULL);
	expect(p, "keep.me", "Please", A, NULL);
	expect(p, "numpy.fft", "fft", D, "denied by policy");
}

static void
test_file_limits(void **state)
{
	struct pal_policy *p = *state;
	struct pal_err err;
	struct pal_buf b;
	size_t i;

	/* An entry longer than the cap. */
	pal_buf_init(&b, 4096);
	assert_int_equal(pal_buf_puts(&b, "version: 1\nallow: [\"m:"), 0);
	for (i = 0; i < PAL_POLICY_ENTRY_MAX; i++)
		assert_int_equal(pal_buf_putc(&b, 'x'), 0);
	assert_int_equal(pal_buf_puts(&b, "\"]\n"), 0);
	assert_int_equal(load(p, (const char *)b.p, &err), PAL_ERR_POLICY);
	assert_non_null(strstr(err.msg, "too long"));
	pal_buf_free(&b);

	/* A buffer over the file cap is refused before parsing. */
	assert_int_equal(pal_policy_load_buffer(p, "version: 1\n",
	    PAL_POLICY_FILE_MAX + 1, "big.yaml", &err), PAL_ERR_LIMIT);
	assert_non_null(strstr(err.msg, "big.yaml"));
	/* Bad arguments. */
	assert_int_equal(pal_policy_load_buffer(p, NULL, 3, "x", &err),
	    PAL_ERR_INVALID);
	assert_int_equal(pal_policy_load_buffer(NULL, "", 0, "x", &err),
	    PAL_ERR_INVALID);
	assert_int_equal(p->nallow + p->nallow_mod + p->ndeny, 0);
}

/* Builds "version: 1\nkey: [fmt % 0, fmt % 1, ...]" with n entries. */
static void
many(struct pal_buf *b, const char *key, const char *prefix,
    const char *suffix, size_t n)
{
	size_t i;

	pal_buf_reset(b);
	assert_int_equal(pal_buf_printf(b, "version: 1\n%s: [", key), 0);
	for (i = 0; i < n; i++)
		assert_int_equal(pal_buf_printf(b, "%s%s%zu%s", i ? "," : "",
		    prefix, i, suffix), 0);
	assert_int_equal(pal_buf_puts(b, "]\n"), 0);
	assert_true(b->len <= PAL_POLICY_FILE_MAX);
}

/* Too many entries across files: refused at the entry that passes it. */
static void
test_file_budget(void **state)
{
	struct pal_policy *p = *state;
	struct pal_err err;
	struct pal_buf b;

	pal_buf_init(&b, PAL_POLICY_FILE_MAX);
	many(&b, "allow", "m", ":C", 60000);
	assert_int_equal(load(p, (const char *)b.p, &err), 0);
	assert_int_equal(p->nallow, 60000);
	expect(p, "m59999", "C", A, NULL);
	many(&b, "deny", "d", ".*", PAL_POLICY_ENTRIES_MAX - 60000 + 1);
	assert_int_equal(load(p, (const char *)b.p, &err), PAL_ERR_POLICY);
	assert_non_null(strstr(err.msg, "too many entries"));
	assert_int_equal(p->ndeny, 0);
	many(&b, "deny", "d", ".*", PAL_POLICY_ENTRIES_MAX - 60000);
	assert_int_equal(load(p, (const char *)b.p, &err), 0);
	assert_int_equal(p->ndeny, PAL_POLICY_ENTRIES_MAX - 60000);
	expect(p, "d39999.x", "C", D, "denied by policy");
	/* Full: even a file of entries already present is refused. */
	assert_int_equal(load(p, "version: 1\nallow: [m1:C]\n", &err),
	    PAL_ERR_POLICY);
	assert_int_equal(load(p, "version: 1\n", &err), 0);
	pal_buf_free(&b);
}

static void
test_file_load(void **state)
{
	struct pal_policy *p = *state;
	struct pal_err err;
	const char *tmp = getenv("PAL_TEST_TMP");
	char path[4096];
	FILE *fp;

	if (tmp == NULL)
		tmp = "/tmp";
	mkdir(tmp, 0700);
	snprintf(path, sizeof(path), "%s/test_policy.%d.yaml", tmp,
	    (int)getpid());
	fp = fopen(path, "w");
	assert_non_null(fp);
	fputs("version: 1\nallow:\n  - mypkg:Net\n  - os:system\n", fp);
	fclose(fp);
	assert_int_equal(pal_policy_load_file(p, path, &err), PAL_ERR_POLICY);
	/* The message names the file, the line and the column. */
	assert_non_null(strstr(err.msg, path));
	assert_non_null(strstr(err.msg, ":4:5: allow entry 'os:system'"));
	expect(p, "mypkg", "Net", U, NULL);

	fp = fopen(path, "w");
	assert_non_null(fp);
	fputs("version: 1\nallow:\n  - mypkg:Net\n", fp);
	fclose(fp);
	assert_int_equal(pal_policy_load_file(p, path, &err), 0);
	expect(p, "mypkg", "Net", A, NULL);
	unlink(path);

	assert_int_equal(pal_policy_load_file(p, path, &err), PAL_ERR_IO);
	assert_non_null(strstr(err.msg, path));
	assert_int_equal(pal_policy_load_file(p, tmp, &err), PAL_ERR_IO);
	assert_non_null(strstr(err.msg, "not a regular file"));
	/* A FIFO is refused, without waiting for a writer. */
	assert_int_equal(mkfifo(path, 0600), 0);
	assert_int_equal(pal_policy_load_file(p, path, &err), PAL_ERR_IO);
	assert_non_null(strstr(err.msg, "not a regular file"));
	unlink(path);
}

static void
test_free_null(void **state)
{
	(void)state;
	pal_policy_free(NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tables_sorted),
		cmocka_unit_test(test_free_null),
		cmocka_unit_test_setup_teardown(test_allowlist_consistent, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_danger_table, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_allowed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unknown, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dangerous, setup, teardown),
		cmocka_unit_test_setup_teardown(test_compat, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dotted, setup, teardown),
		cmocka_unit_test_setup_teardown(test_malformed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_benign_globals, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_malicious_globals, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_file_good, setup, teardown),
		cmocka_unit_test_setup_teardown(test_file_profiles, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_file_compat_live, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_file_bad, setup, teardown),
		cmocka_unit_test_setup_teardown(test_file_limits, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_file_budget, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_file_load, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
