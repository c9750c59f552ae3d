#!/usr/bin/env python3
"""Writes the Hugging Face JSON test files under tests/data/hf/configs/.

Benign files are copies of what real models ship (Llama 3 config.json,
a Qwen2.5 tokenizer_config.json, a list-form chat_template as Cohere's
Command-R ships, processor, generation, diffusers and PEFT configs) with
their chat templates read from templates/.  Hostile files each carry one
construct the scanner must report.  Only the standard library is used;
json.dumps writes what transformers' save_pretrained writes.

Run from anywhere: python3 tests/data/hf/make_configs.py
"""
import json
import os

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "configs")


def template(name, sub="templates"):
    with open(os.path.join(HERE, sub, name), encoding="utf-8") as fp:
        return fp.read()


def write(name, obj=None, raw=None):
    path = os.path.join(OUT, name)
    if raw is None:
        raw = json.dumps(obj, indent=2, ensure_ascii=False) + "\n"
    with open(path, "wb") as fp:
        fp.write(raw.encode("utf-8") if isinstance(raw, str) else raw)


LLAMA = {
    "architectures": ["LlamaForCausalLM"],
    "attention_bias": False,
    "attention_dropout": 0.0,
    "bos_token_id": 128000,
    "eos_token_id": 128009,
    "hidden_act": "silu",
    "hidden_size": 4096,
    "initializer_range": 0.02,
    "intermediate_size": 14336,
    "max_position_embeddings": 8192,
    "model_type": "llama",
    "num_attention_heads": 32,
    "num_hidden_layers": 32,
    "num_key_value_heads": 8,
    "pretraining_tp": 1,
    "rms_norm_eps": 1e-05,
    "rope_scaling": None,
    "rope_theta": 500000.0,
    "tie_word_embeddings": False,
    "torch_dtype": "bfloat16",
    "transformers_version": "4.40.0.dev0",
    "use_cache": True,
    "vocab_size": 128256,
}


def added(tokens):
    return {str(i): {"content": t, "lstrip": False, "normalized": False,
                     "rstrip": False, "single_word": False, "special": True}
            for i, t in tokens}


def benign():
    write("llama3-config.json", LLAMA)
    write("generation_config.json", {
        "bos_token_id": 128000, "do_sample": True,
        "eos_token_id": [128001, 128009], "max_length": 4096,
        "temperature": 0.6, "top_p": 0.9,
        "transformers_version": "4.40.0.dev0"})
    write("qwen2.5-tokenizer_config.json", {
        "add_bos_token": False, "add_prefix_space": False,
        "added_tokens_decoder": added([(151643, "<|endoftext|>"),
                                       (151644, "<|im_start|>"),
                                       (151645, "<|im_end|>")]),
        "additional_special_tokens": ["<|im_start|>", "<|im_end|>"],
        "bos_token": None,
        "chat_template": template("qwen2.5-tools.jinja"),
        "clean_up_tokenization_spaces": False,
        "eos_token": "<|im_end|>", "errors": "replace",
        "model_max_length": 131072, "pad_token": "<|endoftext|>",
        "split_special_tokens": False, "tokenizer_class": "Qwen2Tokenizer",
        "unk_token": None})
    # Command-R ships its templates as a list of named templates.
    write("list-tokenizer_config.json", {
        "add_bos_token": True, "add_eos_token": False,
        "added_tokens_decoder": added([(5, "<BOS_TOKEN>"),
                                       (255001, "<|END_OF_TURN_TOKEN|>")]),
        "bos_token": "<BOS_TOKEN>",
        "chat_template": [
            {"name": "default", "template": template("chatml.jinja")},
            {"name": "tool_use", "template": template("hermes-tools.jinja")},
            {"name": "rag", "template": template("llama3.1-tools.jinja")},
        ],
        "clean_up_tokenization_spaces": False,
        "eos_token": "<|END_OF_TURN_TOKEN|>", "legacy": True,
        "model_max_length": 1000000000000000019884624838656,
        "pad_token": "<PAD>", "sp_model_kwargs": {},
        "spaces_between_special_tokens": False,
        "tokenizer_class": "CohereTokenizer", "unk_token": None,
        "use_default_system_prompt": False})
    write("chat_template.json", {"chat_template": template("gemma3.jinja")})
    write("preprocessor_config.json", {
        "crop_size": {"height": 224, "width": 224}, "do_center_crop": True,
        "do_convert_rgb": True, "do_normalize": True, "do_rescale": True,
        "do_resize": True,
        "image_mean": [0.48145466, 0.4578275, 0.40821073],
        "image_processor_type": "CLIPImageProcessor",
        "image_std": [0.26862954, 0.26130258, 0.27577711],
        "processor_class": "LlavaProcessor", "resample": 3,
        "rescale_factor": 0.00392156862745098,
        "size": {"shortest_edge": 224}})
    write("model_index.json", {
        "_class_name": "StableDiffusionPipeline",
        "_diffusers_version": "0.6.0",
        "feature_extractor": ["transformers", "CLIPImageProcessor"],
        "safety_checker": ["stable_diffusion", "StableDiffusionSafetyChecker"],
        "scheduler": ["diffusers", "PNDMScheduler"],
        "text_encoder": ["transformers", "CLIPTextModel"],
        "tokenizer": ["transformers", "CLIPTokenizer"],
        "unet": ["diffusers", "UNet2DConditionModel"],
        "vae": ["diffusers", "AutoencoderKL"]})
    write("adapter_config.json", {
        "alpha_pattern": {}, "auto_mapping": None,
        "base_model_name_or_path": "meta-llama/Meta-Llama-3-8B",
        "bias": "none", "fan_in_fan_out": False, "inference_mode": True,
        "lora_alpha": 16, "lora_dropout": 0.05, "peft_type": "LORA",
        "r": 8, "target_modules": ["q_proj", "v_proj"],
        "task_type": "CAUSAL_LM"})
    write("tokenizer.json", {
        "version": "1.0", "truncation": None, "padding": None,
        "added_tokens": [{"id": 0, "content": "<unk>", "special": True}],
        "normalizer": None, "pre_tokenizer": {"type": "ByteLevel"},
        "model": {"type": "BPE", "vocab": {"<unk>": 0, "trust_remote_code": 1,
                                           "auto_map": 2, "chat_template": 3},
                  "merges": []}})
    # Python writes NaN and Infinity for non-finite floats.
    write("nonfinite-config.json",
          raw='{"model_type": "gpt2", "layer_norm_epsilon": NaN,\n'
              ' "max": Infinity, "min": -Infinity, "n": "NaN"}\n')
    write("bom-config.json",
          raw=b'\xef\xbb\xbf{"model_type": "bert", "vocab_size": 30522}\n')


def hostile():
    write("automap-config.json", dict(LLAMA, **{
        "architectures": ["Phi3ForCausalLM"],
        "auto_map": {
            "AutoConfig": "configuration_phi3.Phi3Config",
            "AutoModelForCausalLM": "modeling_phi3.Phi3ForCausalLM"},
        "model_type": "phi3"}))
    write("automap-foreign-config.json", dict(LLAMA, **{
        "auto_map": {
            "AutoConfig": "evil-org/helpers--configuration_x.XConfig",
            "AutoModel": "modeling_x.XModel"}}))
    write("automap-tokenizer_config.json", {
        "auto_map": {"AutoTokenizer": ["tokenization_chatglm.ChatGLMTokenizer",
                                       None]},
        "tokenizer_class": "ChatGLMTokenizer", "model_max_length": 8192})
    write("automap-legacy-tokenizer_config.json", {
        "auto_map": ["tokenization_x.XTokenizer", "tokenization_x.XTokenizerFast"],
        "tokenizer_class": "XTokenizer"})
    write("pipeline-config.json", dict(LLAMA, **{
        "custom_pipelines": {"text-classification": {
            "impl": "pipeline_x.XPipeline", "pt": ["AutoModel"], "tf": []}}}))
    write("trust-config.json", {
        "model_type": "llava",
        "text_config": {"model_type": "llama",
                        "model_kwargs": {"trust_remote_code": True}}})
    write("custom-tokenizer_config.json", {
        "tokenizer_class": "EvilTokenizer", "model_max_length": 2048})
    write("dotted-processor_config.json", {
        "processor_class": "os.system", "image_processor_type": "CLIPImageProcessor"})
    write("kernel-config.json", dict(LLAMA, **{
        "attn_implementation": "kernels-community/flash-attn3"}))
    write("diffusers-custom-model_index.json", {
        "_class_name": ["pipeline_evil", "EvilPipeline"],
        "_diffusers_version": "0.30.0",
        "unet": ["my_unet", "MyUNet"],
        "vae": ["diffusers", "AutoencoderKL"]})
    write("peft-module-adapter_config.json", {
        "peft_type": "LORA", "task_type": None,
        "auto_mapping": {"base_model_class": "system", "parent_library": "os"}})
    write("duplicate-config.json",
          raw='{"model_type": "llama",\n "auto_map": {"AutoModel": "m.A"},\n'
              ' "model_type": "bert"}\n')
    write("evil-list-tokenizer_config.json", {
        "chat_template": [
            {"name": "default", "template": template("chatml.jinja")},
            {"name": "tool_use",
             "template": template("lipsum-globals.jinja", "evil")}],
        "tokenizer_class": "LlamaTokenizerFast"})
    write("evil-chat_template.json", {
        "chat_template": template("request-chain.jinja", "evil")})
    write("keras-config.json", {
        "module": "keras", "class_name": "Sequential",
        "config": {"name": "sequential", "layers": []},
        "registered_name": None})


def malformed():
    write("bad-truncated.json", raw='{"model_type": "llama", "vocab_size": 3')
    write("bad-trailing.json", raw='{"model_type": "llama"} {"x": 1}\n')
    write("bad-utf8.json", raw=b'{"model_type": "ll\xffama"}\n')
    write("bad-nul.json", raw='{"model_type": "a\\u0000b"}\n')
    write("bad-syntax.json", raw='{\n  "model_type": "llama",\n  "x": [1, 2,]\n}\n')
    write("bad-template-config.json", {
        "chat_template": "{% for m in messages %}{{ m.content }}"})


if __name__ == "__main__":
    os.makedirs(OUT, exist_ok=True)
    benign()
    hostile()
    malformed()
