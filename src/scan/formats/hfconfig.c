/*
 * hfconfig.c - what in a Hugging Face JSON file makes a library import
 * code, and the chat templates it carries.
 *
 * transformers imports repository code for every class reference in
 * auto_map ("module.Class", or "owner/repo--module.Class" for another
 * repository) and custom_pipelines once trust_remote_code=True; diffusers
 * does the same for model_index.json components from modules other than
 * its own; sentence-transformers for modules.json types; PEFT imports the
 * module an adapter's auto_mapping names.  A class name transformers
 * does not define only loads through such code.  Chat templates are
 * Jinja programs checked by jinja.c.
 *
 * The document was parsed by json.c (depth already bounded).  Keys and
 * strings are untrusted and escaped before they are reported.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "palisade/buf.h"
#include "palisade/text.h"
#include "hfconfig.h"
#include "scan_int.h"

/* Longest location reported ("text_config.auto_map.AutoModel"). */
#define HF_MAX_PATH 256
/* Longest name quoted in a finding. */
#define HF_MAX_SHOW 160

/*
 * The tokenizer classes transformers defines, without "Tokenizer" and
 * "TokenizerFast"; tokenizer_class names are resolved among these only.
 */
static const char *const tokenizer_bases[] = {
	"Albert", "Bart", "Barthez", "Bartpho", "Bert", "BertGeneration",
	"BertJapanese", "Bertweet", "BigBird", "BioGpt", "Blenderbot",
	"BlenderbotSmall", "Bloom", "ByT5", "Camembert", "Canine", "CLIP",
	"Clvp", "CodeGen", "CodeLlama", "Cohere", "ConvBert", "Cpm", "CpmAnt",
	"CTRL", "Deberta", "DebertaV2", "DistilBert", "DPRContextEncoder",
	"DPRQuestionEncoder", "DPRReader", "Electra", "Esm",
	"FastSpeech2Conformer", "Flaubert", "FNet", "FSMT", "Funnel", "Gemma",
	"GPT2", "GPTNeoX", "GPTNeoXJapanese", "GPTSw3", "Herbert", "Jukebox",
	"LayoutLM", "LayoutLMv2", "LayoutLMv3", "LayoutXLM", "LED", "Llama",
	"Longformer", "Luke", "Lxmert", "M2M100", "Marian", "MarkupLM",
	"MBart", "MBart50", "Mgpstr", "MLuke", "MobileBert", "MPNet", "MT5",
	"Mvp", "MyT5", "Nllb", "Nougat", "OpenAIGPT", "Pegasus", "Perceiver",
	"Phobert", "PLBart", "Pop2Piano", "ProphetNet", "Qwen2", "Realm",
	"Reformer", "RemBert", "RetriBert", "Roberta", "RoCBert", "RoFormer",
	"SeamlessM4T", "Siglip", "Speech2Text", "Speech2Text2", "SpeechT5",
	"Splinter", "SqueezeBert", "T5", "Tapas", "Tapex", "Udop", "Vits",
	"Wav2Vec2", "Wav2Vec2CTC", "Wav2Vec2Phoneme", "Wav2Vec2PhonemeCTC",
	"Whisper", "XGLM", "XLM", "XLMProphetNet", "XLMRoberta", "XLNet",
	"PreTrained", "MistralCommon", "Layoutlmv2", NULL,
};

/* Fields that name a class the loading library resolves by name. */
static const char *const class_fields[] = {
	"tokenizer_class", "processor_class", "image_processor_type",
	"feature_extractor_type", "video_processor_type", NULL,
};

/*
 * Libraries diffusers loads model_index.json components from itself:
 * the libraries, and the diffusers.pipelines submodules that define
 * components (the Stable Diffusion safety checker, Kandinsky's text
 * encoder, ...).  Any other name is a module diffusers imports.
 */
static const char *const diffusers_libs[] = {
	"diffusers", "transformers", "onnxruntime.training",
	"stable_diffusion", "stable_diffusion_xl", "stable_diffusion_safe",
	"stable_diffusion_3", "stable_audio", "deepfloyd_if", "kandinsky",
	"kandinsky2_2", "kandinsky3", "latent_diffusion", "alt_diffusion",
	"paint_by_example", "versatile_diffusion", "unclip", "wuerstchen",
	"stable_cascade", "audioldm2", "shap_e", "blip_diffusion",
	"musicldm", "semantic_stable_diffusion", "i2vgen_xl", "animatediff",
	"pixart_alpha", "controlnet", "t2i_adapter", "ledits_pp", NULL,
};

struct hf {
	struct pal_scan *s;
	const struct pal_scan_item *it;
	struct pal_buf path;	/* location of the value being walked */
	struct pal_err first;	/* the first chat template error */
	int failed;
};

static int
hf_err(struct hf *h, int r)
{
	if (r == PAL_ERR_NOMEM)
		return pal_err_set(&h->s->err, r, "out of memory");
	return r;
}

/* Appends s escaped and cut to at most max bytes of input. */
static int
put_shown(struct pal_buf *b, const char *s, size_t max)
{
	size_t n = strlen(s);
	int r;

	if ((r = pal_text_escape(b, s, n > max ? max : n)) != 0)
		return r;
	return n > max ? pal_buf_puts(b, "...") : 0;
}

/* A name from the file, escaped for a report (caller frees). */
static char *
shown(const char *s)
{
	struct pal_buf b;
	size_t n;

	pal_buf_init(&b, HF_MAX_SHOW * 4 + 8);
	if (put_shown(&b, s, HF_MAX_SHOW) != 0 || pal_buf_putc(&b, '\0') != 0) {
		pal_buf_free(&b);
		return NULL;
	}
	return (char *)pal_buf_steal(&b, &n);
}

/* Enters key: the path grows by ".key"; returns the length to go back to. */
static size_t
path_push(struct hf *h, const char *key)
{
	size_t old = h->path.len;

	if (h->path.len > 0 && pal_buf_putc(&h->path, '.') != 0)
		return old;
	if (put_shown(&h->path, key, 64) != 0) {
		/* A path past its ceiling is cut where it was. */
		if (h->path.p != NULL && h->path.len > old) {
			h->path.len = old;
			h->path.p[old] = '\0';
		}
	}
	return old;
}

static void
path_pop(struct hf *h, size_t old)
{
	if (h->path.p != NULL && old <= h->path.len) {
		h->path.len = old;
		h->path.p[old] = '\0';
	}
}

static const char *
path_str(const struct hf *h)
{
	return h->path.p != NULL ? (const char *)h->path.p : "";
}

static int
in_list(const char *const *list, const char *s)
{
	size_t i;

	for (i = 0; list[i] != NULL; i++)
		if (strcmp(list[i], s) == 0)
			return 1;
	return 0;
}

/* A Python class name: an ASCII identifier. */
static int
is_identifier(const char *s)
{
	size_t i;

	if (s[0] == '\0' || (s[0] >= '0' && s[0] <= '9'))
		return 0;
	for (i = 0; s[i] != '\0'; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' &&
		    s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9') ||
		    s[i] == '_'))
			return 0;
	return 1;
}

static int
known_tokenizer(const char *s)
{
	size_t i, n, bn;

	for (i = 0; tokenizer_bases[i] != NULL; i++) {
		bn = strlen(tokenizer_bases[i]);
		if (strncmp(s, tokenizer_bases[i], bn) != 0)
			continue;
		n = strlen(s + bn);
		if ((n == 9 && strcmp(s + bn, "Tokenizer") == 0) ||
		    (n == 13 && strcmp(s + bn, "TokenizerFast") == 0))
			return 1;
	}
	return 0;
}

/*
 * One class reference of auto_map or custom_pipelines: "module.Class",
 * or "owner/repo--module.Class" which fetches another repository's code.
 */
static int
check_class_ref(struct hf *h, const char *ref)
{
	const char *dashes = strstr(ref, "--");
	char *show = shown(ref);
	int r;

	if (show == NULL)
		return hf_err(h, PAL_ERR_NOMEM);
	if (dashes != NULL)
		r = pal_scan_find(h->s, h->it, "hf.remote-code-foreign",
		    path_str(h), "'%s' loads code from another repository "
		    "when the model is loaded with trust_remote_code=True",
		    show);
	else
		r = pal_scan_find(h->s, h->it, "hf.remote-code", path_str(h),
		    "'%s' is Python code from the model repository, run "
		    "when the model is loaded with trust_remote_code=True",
		    show);
	free(show);
	return hf_err(h, r);
}

/* An auto_map value: a reference, null, or a list of them (tokenizers). */
static int
check_ref_value(struct hf *h, json_t *v)
{
	size_t i;
	json_t *e;
	int r;

	if (json_is_string(v))
		return check_class_ref(h, json_string_value(v));
	if (json_is_null(v))
		return 0;
	if (json_is_array(v)) {
		json_array_foreach(v, i, e) {
			if (json_is_null(e))
				continue;
			if (!json_is_string(e))
				break;
			if ((r = check_class_ref(h, json_string_value(e))) != 0)
				return r;
		}
		if (i == json_array_size(v))
			return 0;
	}
	return hf_err(h, pal_scan_find(h->s, h->it, "hf.remote-code",
	    path_str(h), "auto_map entry is not a class reference; it asks "
	    "for repository code all the same"));
}

static int
check_auto_map(struct hf *h, json_t *map)
{
	const char *key;
	json_t *v;
	size_t old;
	int r;

	/* Old tokenizer configs: "auto_map": ["mod.Slow", "mod.Fast"]. */
	if (json_is_array(map))
		return check_ref_value(h, map);
	if (!json_is_object(map))
		return check_ref_value(h, map);
	json_object_foreach(map, key, v) {
		old = path_push(h, key);
		r = check_ref_value(h, v);
		path_pop(h, old);
		if (r != 0)
			return r;
	}
	return 0;
}

/* custom_pipelines: {"task": {"impl": "module.Class", ...}} */
static int
check_pipelines(struct hf *h, json_t *pipes)
{
	const char *key;
	json_t *v, *impl;
	size_t old, old2;
	int r = 0;

	if (!json_is_object(pipes))
		return 0;
	json_object_foreach(pipes, key, v) {
		old = path_push(h, key);
		impl = json_object_get(v, "impl");
		old2 = path_push(h, "impl");
		if (json_is_string(impl))
			r = check_class_ref(h, json_string_value(impl));
		else
			r = hf_err(h, pal_scan_find(h->s, h->it,
			    "hf.remote-code", path_str(h), "a custom pipeline "
			    "is declared; its implementation is repository "
			    "code"));
		path_pop(h, old2);
		path_pop(h, old);
		if (r != 0)
			return r;
	}
	return 0;
}

/* tokenizer_class and the other class-name fields. */
static int
check_class_field(struct hf *h, const char *field, json_t *v, int has_map)
{
	const char *name;
	char *show;
	int r = 0;

	if (!json_is_string(v))
		return 0;
	name = json_string_value(v);
	if ((show = shown(name)) == NULL)
		return hf_err(h, PAL_ERR_NOMEM);
	if (!is_identifier(name))
		r = pal_scan_find(h->s, h->it, "hf.custom-class", path_str(h),
		    "%s '%s' is not a Python class name: it reads as a module "
		    "path or something else to import", field, show);
	else if (strcmp(field, "tokenizer_class") == 0 && !has_map &&
	    !known_tokenizer(name))
		r = pal_scan_find(h->s, h->it, "hf.custom-class", path_str(h),
		    "tokenizer_class '%s' is not a transformers tokenizer; "
		    "only repository code can provide it", show);
	free(show);
	return hf_err(h, r);
}

/* attn_implementation: "kernels-community/flash-attn" is Hub code. */
static int
check_attn(struct hf *h, json_t *v)
{
	char *show;
	int r;

	if (!json_is_string(v) || strchr(json_string_value(v), '/') == NULL)
		return 0;
	if ((show = shown(json_string_value(v))) == NULL)
		return hf_err(h, PAL_ERR_NOMEM);
	r = pal_scan_find(h->s, h->it, "hf.hub-kernel", path_str(h),
	    "attention implementation '%s' is a Hub repository of compiled "
	    "kernels that transformers downloads and loads", show);
	free(show);
	return hf_err(h, r);
}

static int
truthy(json_t *v)
{
	const char *s;

	if (json_is_true(v))
		return 1;
	if (!json_is_string(v))
		return 0;
	s = json_string_value(v);
	return strcmp(s, "true") == 0 || strcmp(s, "True") == 0;
}

/* Runs the template check, keeping the first failure for the end. */
static int
check_template(struct hf *h, const char *tmpl, size_t len)
{
	int r;

	pal_err_clear(&h->s->err);
	r = pal_jinja_check(h->s, h->it, path_str(h), tmpl, len);
	if (r == PAL_ERR_NOMEM)
		return r;
	if (r < 0 && !h->failed) {
		h->failed = 1;
		h->first = h->s->err;
	}
	return 0;
}

/*
 * chat_template: a string, or a list of {"name": ..., "template": ...}
 * (the named ones are "default", "tool_use", "rag", ...).
 */
static int
check_chat_template(struct hf *h, json_t *v)
{
	json_t *e, *name, *tmpl;
	char idx[32];
	size_t i, old;
	int r;

	if (json_is_string(v))
		return check_template(h, json_string_value(v),
		    json_string_length(v));
	if (!json_is_array(v))
		return 0;
	json_array_foreach(v, i, e) {
		name = json_object_get(e, "name");
		tmpl = json_object_get(e, "template");
		if (!json_is_string(tmpl))
			continue;
		snprintf(idx, sizeof(idx), "%zu", i);
		old = path_push(h, json_is_string(name) ?
		    json_string_value(name) : idx);
		r = check_template(h, json_string_value(tmpl),
		    json_string_length(tmpl));
		path_pop(h, old);
		if (r != 0)
			return r;
	}
	return 0;
}

/*
 * diffusers model_index.json: "unet": ["diffusers", "UNet2DModel"].  A
 * library other than diffusers' own is a module of the repository (or
 * an installed package) that diffusers imports; a list-valued
 * _class_name is a custom pipeline file.
 */
static int
check_diffusers(struct hf *h, json_t *root)
{
	const char *key, *lib;
	json_t *v, *l, *c;
	char *show = NULL, *cls = NULL;
	size_t old;
	int r = 0;

	json_object_foreach(root, key, v) {
		if (!json_is_array(v) || json_array_size(v) != 2)
			continue;
		l = json_array_get(v, 0);
		c = json_array_get(v, 1);
		if (!json_is_string(l) || !json_is_string(c))
			continue;
		lib = json_string_value(l);
		if (strcmp(key, "_class_name") != 0 && in_list(diffusers_libs, lib))
			continue;
		if ((show = shown(lib)) == NULL ||
		    (cls = shown(json_string_value(c))) == NULL) {
			free(show);
			return hf_err(h, PAL_ERR_NOMEM);
		}
		old = path_push(h, key);
		r = pal_scan_find(h->s, h->it, "hf.remote-code", path_str(h),
		    "diffusers loads %s from module '%s' (class '%s'): "
		    "repository code with trust_remote_code=True, or whatever "
		    "installed package has that name",
		    strcmp(key, "_class_name") == 0 ? "the pipeline" :
		    "this component", show, cls);
		path_pop(h, old);
		free(show);
		free(cls);
		if (r != 0)
			return hf_err(h, r);
	}
	return 0;
}

/* PEFT adapter_config.json: auto_mapping.parent_library is imported. */
static int
check_peft(struct hf *h, json_t *map)
{
	json_t *lib = json_object_get(map, "parent_library");
	const char *s;
	char *show;
	size_t old;
	int r;

	if (!json_is_string(lib))
		return 0;
	s = json_string_value(lib);
	if (strcmp(s, "transformers") == 0 ||
	    strncmp(s, "transformers.", 13) == 0)
		return 0;
	if ((show = shown(s)) == NULL)
		return hf_err(h, PAL_ERR_NOMEM);
	old = path_push(h, "parent_library");
	r = pal_scan_find(h->s, h->it, "hf.module-import", path_str(h),
	    "PEFT imports module '%s' to find the base model class", show);
	path_pop(h, old);
	free(show);
	return hf_err(h, r);
}

/*
 * sentence-transformers modules.json: [{"type": "module.Class"}, ...].
 * A type outside sentence_transformers is a custom module.
 */
static int
check_st_modules(struct hf *h, json_t *root)
{
	json_t *e, *type;
	const char *s;
	char *show, idx[48];
	size_t i, old;
	int r;

	json_array_foreach(root, i, e) {
		type = json_object_get(e, "type");
		if (!json_is_string(type))
			continue;
		s = json_string_value(type);
		if (strncmp(s, "sentence_transformers.", 22) == 0)
			continue;
		if ((show = shown(s)) == NULL)
			return hf_err(h, PAL_ERR_NOMEM);
		snprintf(idx, sizeof(idx), "[%zu].type", i);
		old = h->path.len;
		(void)pal_buf_puts(&h->path, idx);
		r = pal_scan_find(h->s, h->it, "hf.remote-code", path_str(h),
		    "sentence-transformers imports module class '%s' "
		    "(repository code with trust_remote_code=True)", show);
		path_pop(h, old);
		free(show);
		if (r != 0)
			return hf_err(h, r);
	}
	return 0;
}

static int walk(struct hf *h, json_t *v, int has_map, unsigned depth);

/* One member of an object, by key. */
static int
walk_member(struct hf *h, const char *key, json_t *v, int has_map,
    unsigned depth)
{
	if (strcmp(key, "auto_map") == 0 &&
	    (json_is_object(v) || json_is_array(v)))
		return check_auto_map(h, v);
	if (strcmp(key, "custom_pipelines") == 0)
		return check_pipelines(h, v);
	if (strcmp(key, "trust_remote_code") == 0 && truthy(v))
		return hf_err(h, pal_scan_find(h->s, h->it,
		    "hf.trust-remote-code", path_str(h), "the config sets "
		    "trust_remote_code to true"));
	if (strcmp(key, "chat_template") == 0)
		return check_chat_template(h, v);
	if (in_list(class_fields, key))
		return check_class_field(h, key, v, has_map);
	if (strcmp(key, "attn_implementation") == 0 ||
	    strcmp(key, "_attn_implementation") == 0)
		return check_attn(h, v);
	if (strcmp(key, "auto_mapping") == 0 && json_is_object(v))
		return check_peft(h, v);
	return walk(h, v, has_map, depth + 1);
}

/*
 * Walks every value: nested configs (text_config, vision_config, a
 * pipeline's kwargs) can carry the same keys.  Depth was bounded by the
 * JSON pre-pass; the check here only guards against misuse.
 */
static int
walk(struct hf *h, json_t *v, int has_map, unsigned depth)
{
	const char *key;
	json_t *e;
	size_t i, old;
	int r;

	if (depth > 512)
		return 0;
	if (json_is_object(v)) {
		if (json_object_get(v, "auto_map") != NULL)
			has_map = 1;
		json_object_foreach(v, key, e) {
			old = path_push(h, key);
			r = walk_member(h, key, e, has_map, depth);
			path_pop(h, old);
			if (r != 0)
				return r;
		}
	} else if (json_is_array(v)) {
		json_array_foreach(v, i, e)
			if ((r = walk(h, e, has_map, depth + 1)) != 0)
				return r;
	}
	return 0;
}

int
pal_hf_check(struct pal_scan *s, const struct pal_scan_item *it,
    json_t *root)
{
	struct hf h;
	int r;

	memset(&h, 0, sizeof(h));
	h.s = s;
	h.it = it;
	pal_buf_init(&h.path, HF_MAX_PATH);
	if (json_is_array(root) && (r = check_st_modules(&h, root)) != 0)
		goto out;
	if (json_is_object(root) &&
	    json_is_string(json_object_get(root, "_diffusers_version")) &&
	    (r = check_diffusers(&h, root)) != 0)
		goto out;
	if ((r = walk(&h, root, 0, 0)) != 0)
		goto out;
	if (h.failed) {
		s->err = h.first;
		r = s->err.code;
	}
out:
	pal_buf_free(&h.path);
	return r;
}
