"""Caption metrics between target captions and the VLM's captions of generated videos: BLEU-1..4, CIDEr-D, METEOR.

Why hand-written: l2vkit may not add runtime dependencies for these, and the maintained packages are either heavy
(``pycocoevalcap``: 100 MB of Java jars) or need downloads (NLTK's METEOR needs WordNet data). The code below
reproduces them and the tests check it against them on fixed strings:

- :func:`bleu` / :func:`sentence_bleu` — Papineni et al. (2002): clipped n-gram precisions summed over the corpus,
  brevity penalty ``exp(1 − r/c)`` with r the *closest* reference length (ties → the shorter), BLEU-n the geometric
  mean of p₁..pₙ. Equal to ``pycocoevalcap.bleu`` and to NLTK's ``corpus_bleu``/``sentence_bleu`` (for hypotheses of
  ≥ n words; NLTK counts at least one n-gram per sentence). Smoothing (off by default, as in coco-caption):
  ``"epsilon"`` (NLTK method 1: ε matches for zero counts), ``"add-one"`` (method 2, Lin & Och 2004: +1 to matches
  and totals for n ≥ 2), ``"nist"`` (method 3, mteval/sacreBLEU "exp": 1/2ᵏ for the k-th zero order).
- :func:`cider_d` — CIDEr-D (Vedantam et al., 2015) exactly as ``pycocoevalcap.cider`` computes it: tf-idf n-gram
  vectors (idf from the references of the *corpus*), clipped cosine per n = 1..4, a Gaussian length penalty
  (σ = 6), × 10. It needs a corpus: with one caption every idf is 0 and the score 0.
- :func:`meteor` — ``backend="python"`` (default): METEOR as NLTK implements it (Lavie & Agarwal 2007,
  α = 0.9, β = 3, γ = 0.5) with exact matching, plus stem and synonym stages when you pass ``stemmer`` /
  ``synonyms`` callables (e.g. ``nltk.stem.PorterStemmer().stem``; WordNet is not available offline).
  ``backend="coco"`` runs coco-caption's Java METEOR 1.5 (needs ``pycocoevalcap`` and Java) — the version papers
  report; the two are not numerically interchangeable.
- **SPICE is not provided**: the only implementation is coco-caption's Java SPICE, which needs Stanford CoreNLP
  models downloaded at first use; no Java-free implementation exists.

Tokenisation: :func:`tokenize` mimics coco-caption's PTB tokeniser (lower case, PTB splits, punctuation dropped)
without Java.
"""
from __future__ import annotations

import dataclasses
import math
import re
import warnings
from collections import Counter
from typing import Callable, Sequence

import numpy as np

from .distances import MetricWarning

#: Tokens coco-caption drops after PTB tokenisation (its list, lower-cased where PTB output is lower-cased).
_DROPPED = {"''", "'", "``", "`", "-LRB-", "-RRB-", "-LCB-", "-RCB-", ".", "?", "!", ",", ":", "-", "--", "...",
            ";", '"'}
_BRACKETS = {"(": "-lrb-", ")": "-rrb-", "[": "-lsb-", "]": "-rsb-", "{": "-lcb-", "}": "-rcb-"}
_SPLIT_WORDS = {"cannot": "can not", "gonna": "gon na", "gotta": "got ta", "wanna": "wan na"}
_TOKEN = re.compile(r"n't\b|'(?:s|re|ve|ll|d|m)\b|\d+(?:[.,:/]\d+)*|[\w@]+(?:[-/.&'][\w@]+)*|\.\.\.|--|[^\w\s]")
_SMOOTHING = ("none", "epsilon", "add-one", "nist")


def tokenize(text: str) -> list[str]:
    """Lower-case PTB-style tokens with punctuation removed, as coco-caption's (Java) PTBTokenizer gives them.

    >>> tokenize("A man's dog, running quickly to the LEFT.")
    ['a', 'man', "'s", 'dog', 'running', 'quickly', 'to', 'the', 'left']
    >>> tokenize("Don't stop (small)!")
    ['do', "n't", 'stop', '-lrb-', 'small', '-rrb-']
    """
    if not isinstance(text, str):
        raise TypeError(f"caption is {type(text).__name__}; expected a string")
    text = text.lower()
    text = re.sub(r"\b(" + "|".join(_SPLIT_WORDS) + r")\b", lambda m: _SPLIT_WORDS[m.group(1)], text)
    text = re.sub(r"(\w)(n't)\b", r"\1 \2", text)
    text = re.sub(r"(\w)('(?:s|re|ve|ll|d|m))\b", r"\1 \2", text)
    tokens = [_BRACKETS.get(t, t) for t in _TOKEN.findall(text)]
    return [t for t in tokens if t not in _DROPPED]


# ------------------------------------------------------------------------------------------------------ inputs
def _prepare(hypotheses, references, tokenizer) -> tuple[list[list[str]], list[list[list[str]]]]:
    if isinstance(hypotheses, str):
        raise TypeError("hypotheses must be a list of captions (wrap one caption in a list, or use sentence_bleu)")
    hypotheses = list(hypotheses)
    references = list(references)
    if not hypotheses:
        raise ValueError("no hypotheses to score")
    if len(hypotheses) != len(references):
        raise ValueError(f"{len(hypotheses)} hypotheses but {len(references)} reference entries; give one entry "
                         "(a caption or a list of captions) per hypothesis")
    hyps, refs = [], []
    empty = []
    for i, (hyp, ref) in enumerate(zip(hypotheses, references)):
        if not isinstance(hyp, str):
            raise TypeError(f"hypotheses[{i}] is {type(hyp).__name__}; expected a string")
        tokens = tokenizer(hyp)
        if not tokens:
            empty.append(i)
        hyps.append(tokens)
        ref_list = [ref] if isinstance(ref, str) else list(ref)
        if not ref_list:
            raise ValueError(f"references[{i}] is empty; every hypothesis needs at least one reference caption")
        cooked = []
        for j, r in enumerate(ref_list):
            if not isinstance(r, str):
                raise TypeError(f"references[{i}][{j}] is {type(r).__name__}; expected a string")
            tokens = tokenizer(r)
            if not tokens:
                raise ValueError(f"references[{i}][{j}] is an empty caption; a reference must have words")
            cooked.append(tokens)
        refs.append(cooked)
    if empty:
        shown = ", ".join(map(str, empty[:5])) + (", …" if len(empty) > 5 else "")
        warnings.warn(f"{len(empty)} of {len(hyps)} hypotheses are empty captions (index {shown}); they score 0",
                      MetricWarning, stacklevel=3)
    return hyps, refs


def _ngram_counts(tokens: Sequence[str], max_n: int) -> list[Counter]:
    return [Counter(tuple(tokens[i:i + n]) for i in range(len(tokens) - n + 1)) for n in range(1, max_n + 1)]


# -------------------------------------------------------------------------------------------------------- BLEU
@dataclasses.dataclass
class BleuScore:
    """Corpus BLEU: ``scores`` {"BLEU-1": …, …, "BLEU-n"}, the (smoothed) n-gram ``precisions``, the
    ``brevity_penalty``, and the hypothesis and closest-reference lengths it came from."""

    scores: dict
    precisions: list
    brevity_penalty: float
    hyp_len: int
    ref_len: int
    smoothing: str

    @property
    def length_ratio(self) -> float:
        return self.hyp_len / self.ref_len if self.ref_len else float("nan")

    def __getitem__(self, key):
        return self.scores[key]


def _bleu_from_counts(correct, totals, hyp_len, ref_len, smoothing, epsilon) -> BleuScore:
    max_n = len(correct)
    precisions = []
    zeros_seen = 0
    for k in range(max_n):
        c, t = correct[k], totals[k]
        if smoothing == "add-one" and k > 0:
            p = (c + 1) / (t + 1)
        elif c > 0:
            p = c / t
        elif smoothing == "epsilon":
            p = epsilon / max(t, 1)
        elif smoothing == "nist":
            zeros_seen += 1
            p = 1.0 / (2 ** zeros_seen * max(t, 1))
        else:
            p = 0.0
        precisions.append(p)
    if hyp_len == 0:
        bp = 0.0
    else:
        bp = 1.0 if hyp_len > ref_len else math.exp(1.0 - ref_len / hyp_len)
    scores = {}
    log_sum = 0.0
    for n in range(1, max_n + 1):
        p = precisions[n - 1]
        if p <= 0.0 or log_sum == -math.inf:
            log_sum = -math.inf
            scores[f"BLEU-{n}"] = 0.0
        else:
            log_sum += math.log(p)
            scores[f"BLEU-{n}"] = bp * math.exp(log_sum / n)
    return BleuScore(scores, precisions, bp, hyp_len, ref_len, smoothing)


def bleu(hypotheses: Sequence[str], references: Sequence, *, max_n: int = 4, smoothing: str = "none",
         epsilon: float = 0.1, tokenizer: Callable[[str], list] = tokenize) -> BleuScore:
    """Corpus-level BLEU-1..``max_n`` of ``hypotheses`` against ``references`` (one caption or a list per hypothesis).

    Parameters
    ----------
    hypotheses : list of str
        E.g. the VLM's captions of the generated videos.
    references : list of (str or list of str)
        E.g. the target captions.
    smoothing : {"none", "epsilon", "add-one", "nist"}
        For n-gram orders without a match (see the module docstring). Without smoothing BLEU-n is 0 then.
    tokenizer : callable
        ``str -> list of tokens``; default :func:`tokenize`; ``str.split`` for pre-tokenised text.

    Examples
    --------
    >>> score = bleu(["a red circle moves up in the sea"], [["a red circle moves down in the sea"]])
    >>> round(score["BLEU-1"], 4), round(score["BLEU-4"], 4)
    (0.875, 0.5)
    """
    if smoothing not in _SMOOTHING:
        raise ValueError(f"smoothing={smoothing!r}; choose one of {', '.join(_SMOOTHING)}")
    if max_n < 1:
        raise ValueError(f"max_n={max_n}; need ≥ 1")
    hyps, refs = _prepare(hypotheses, references, tokenizer)
    correct = [0] * max_n
    totals = [0] * max_n
    hyp_len = ref_len = 0
    for hyp, ref_list in zip(hyps, refs):
        hyp_counts = _ngram_counts(hyp, max_n)
        ref_counts = [_ngram_counts(r, max_n) for r in ref_list]
        for k in range(max_n):
            max_ref: Counter = Counter()
            for rc in ref_counts:
                max_ref |= rc[k]  # element-wise max
            correct[k] += sum(min(c, max_ref[g]) for g, c in hyp_counts[k].items())
            totals[k] += max(0, len(hyp) - k)
        hyp_len += len(hyp)
        ref_len += min((abs(len(r) - len(hyp)), len(r)) for r in ref_list)[1]
    return _bleu_from_counts(correct, totals, hyp_len, ref_len, smoothing, epsilon)


def sentence_bleu(hypothesis: str, references, **kwargs) -> BleuScore:
    """BLEU of one hypothesis against its reference(s); same options as :func:`bleu`. Sentence BLEU is noisy:
    without smoothing a short caption with no 4-gram match scores BLEU-4 = 0.

    >>> round(sentence_bleu("a red circle", ["a red circle"])["BLEU-3"], 6)
    1.0
    """
    if not isinstance(hypothesis, str):
        raise TypeError(f"hypothesis is {type(hypothesis).__name__}; expected one caption string")
    return bleu([hypothesis], [references], **kwargs)


# ------------------------------------------------------------------------------------------------------ CIDEr-D
@dataclasses.dataclass
class CaptionScore:
    """A corpus score and the per-caption scores it averages."""

    score: float
    per_caption: np.ndarray
    name: str


def cider_d(hypotheses: Sequence[str], references: Sequence, *, sigma: float = 6.0, max_n: int = 4,
            tokenizer: Callable[[str], list] = tokenize) -> CaptionScore:
    """CIDEr-D of each hypothesis against its references, with idf from the whole corpus's references (×10 scale).

    >>> caps = ["a red circle moves up", "a blue square moves down", "a green triangle moves left"]
    >>> result = cider_d(caps, [[c] for c in caps])
    >>> round(result.score, 4)  # every caption equal to its reference
    10.0
    """
    hyps, refs = _prepare(hypotheses, references, tokenizer)
    if len(hyps) == 1:
        warnings.warn("CIDEr-D of a single caption is 0: its idf weights need a corpus of several videos",
                      MetricWarning, stacklevel=2)
    ref_counts = [[_merge(_ngram_counts(r, max_n)) for r in ref_list] for ref_list in refs]
    hyp_counts = [_merge(_ngram_counts(h, max_n)) for h in hyps]
    document_frequency: Counter = Counter()
    for counts in ref_counts:
        document_frequency.update(set().union(*counts))
    log_n = math.log(float(len(hyps)))

    def vector(counts: Counter):
        vec = [dict() for _ in range(max_n)]
        norms = np.zeros(max_n)
        for gram, tf in counts.items():
            weight = tf * (log_n - math.log(max(1.0, document_frequency[gram])))
            vec[len(gram) - 1][gram] = weight
            norms[len(gram) - 1] += weight * weight
        return vec, np.sqrt(norms)

    per_caption = np.zeros(len(hyps))
    for i, (hyp, ref_list) in enumerate(zip(hyps, refs)):
        vh, nh = vector(hyp_counts[i])
        total = np.zeros(max_n)
        for r, counts in zip(ref_list, ref_counts[i]):
            vr, nr = vector(counts)
            penalty = math.exp(-((len(hyp) - len(r)) ** 2) / (2 * sigma ** 2))
            for k in range(max_n):
                val = sum(min(w, vr[k].get(g, 0.0)) * vr[k].get(g, 0.0) for g, w in vh[k].items())
                if nh[k] != 0 and nr[k] != 0:
                    val /= nh[k] * nr[k]
                total[k] += val * penalty
        per_caption[i] = total.mean() / len(ref_list) * 10.0
    return CaptionScore(float(per_caption.mean()), per_caption, "CIDEr-D")


def _merge(counts: list[Counter]) -> Counter:
    merged: Counter = Counter()
    for c in counts:
        merged.update(c)
    return merged


# -------------------------------------------------------------------------------------------------------- METEOR
def _match(hyp: list, ref: list, key: Callable | None = None, synonyms: Callable | None = None):
    """One METEOR matching stage on (index, word) lists, as NLTK does it: right to left over the hypothesis, each
    word taking the last still-free reference position of an equal word (or of a synonym)."""
    keyed_ref = [(j, key(w) if key else w) for j, w in ref]
    positions: dict = {}
    for pos, (_, w) in enumerate(keyed_ref):
        positions.setdefault(w, []).append(pos)
    matches, used_h, used_r = [], set(), set()
    for i in range(len(hyp) - 1, -1, -1):
        word = key(hyp[i][1]) if key else hyp[i][1]
        candidates = {word} | (set(synonyms(word)) if synonyms else set())
        best, best_word = -1, None
        for w in candidates:
            free = positions.get(w)
            if free and free[-1] > best:
                best, best_word = free[-1], w
        if best_word is not None:
            positions[best_word].pop()
            used_h.add(i)
            used_r.add(best)
            matches.append((hyp[i][0], ref[best][0]))
    rest_h = [p for i, p in enumerate(hyp) if i not in used_h]
    rest_r = [p for j, p in enumerate(ref) if j not in used_r]
    return matches, rest_h, rest_r


def _meteor_pair(hyp: list[str], ref: list[str], stemmer, synonyms, alpha, beta, gamma) -> float:
    h, r = list(enumerate(hyp)), list(enumerate(ref))
    matches, h, r = _match(h, r)
    if stemmer is not None:
        more, h, r = _match(h, r, key=stemmer)
        matches += more
    if synonyms is not None:
        more, h, r = _match(h, r, synonyms=synonyms)
        matches += more
    if not matches or not hyp or not ref:
        return 0.0
    matches.sort()
    chunks = 1 + sum(1 for a, b in zip(matches, matches[1:]) if not (b[0] == a[0] + 1 and b[1] == a[1] + 1))
    precision, recall = len(matches) / len(hyp), len(matches) / len(ref)
    fmean = precision * recall / (alpha * precision + (1 - alpha) * recall)
    return (1 - gamma * (chunks / len(matches)) ** beta) * fmean


def meteor(hypotheses: Sequence[str], references: Sequence, *, backend: str = "python",
           stemmer: Callable[[str], str] | None = None, synonyms: Callable[[str], Sequence[str]] | None = None,
           alpha: float = 0.9, beta: float = 3.0, gamma: float = 0.5,
           tokenizer: Callable[[str], list] = tokenize) -> CaptionScore:
    """METEOR of each hypothesis (best over its references); ``score`` is the mean (``backend="python"``) or
    METEOR 1.5's corpus aggregate (``backend="coco"``). See the module docstring for the two backends.

    >>> round(meteor(["a red circle moves up"], [["a red circle moves up"]]).score, 4)  # 1 − 0.5 · (1/5)³
    0.996
    """
    hyps, refs = _prepare(hypotheses, references, tokenizer)
    if backend == "coco":
        return _meteor_coco(hyps, refs)
    if backend != "python":
        raise ValueError(f"backend={backend!r}; choose 'python' or 'coco'")
    per_caption = np.array([max(_meteor_pair(h, r, stemmer, synonyms, alpha, beta, gamma) for r in ref_list)
                            for h, ref_list in zip(hyps, refs)])
    return CaptionScore(float(per_caption.mean()), per_caption, "METEOR")


def _meteor_coco(hyps, refs) -> CaptionScore:
    import shutil

    try:
        from pycocoevalcap.meteor.meteor import Meteor
    except ImportError:
        raise ImportError("meteor(backend='coco') needs `pip install pycocoevalcap` (and Java)") from None
    if shutil.which("java") is None:
        raise RuntimeError("meteor(backend='coco') runs METEOR 1.5 in Java, and no `java` is on PATH; install a JRE "
                           "(apt install default-jre-headless) or use backend='python'")
    scorer = Meteor()
    try:
        gts = {i: [" ".join(r) for r in ref_list] for i, ref_list in enumerate(refs)}
        res = {i: [" ".join(h)] for i, h in enumerate(hyps)}
        score, scores = scorer.compute_score(gts, res)
    finally:
        del scorer
    return CaptionScore(float(score), np.asarray(scores, dtype=np.float64), "METEOR")


# ------------------------------------------------------------------------------------------------------ all of it
def caption_metrics(hypotheses: Sequence[str], references: Sequence, *, meteor_backend: str = "python",
                    stemmer: Callable | None = None, tokenizer: Callable[[str], list] = tokenize) -> dict[str, float]:
    """The paper's caption metrics in one dict: BLEU-1..4 (corpus), CIDEr-D and METEOR.

    SPICE is absent: it exists only as Java needing Stanford CoreNLP model downloads (see the module docstring).

    >>> caps = ["a red circle moves up in the sea", "a blue square moves down in the snow"]
    >>> scores = caption_metrics(caps, caps)
    >>> sorted(scores), round(scores["BLEU-4"], 6)
    (['BLEU-1', 'BLEU-2', 'BLEU-3', 'BLEU-4', 'CIDEr-D', 'METEOR'], 1.0)
    """
    if isinstance(hypotheses, str):
        raise TypeError("hypotheses must be a list of captions (wrap one caption in a list)")
    hypotheses, references = list(hypotheses), list(references)
    with warnings.catch_warnings():  # one warning about empty captions is enough
        warnings.simplefilter("ignore", MetricWarning)
        b = bleu(hypotheses, references, tokenizer=tokenizer)
        c = cider_d(hypotheses, references, tokenizer=tokenizer)
        m = meteor(hypotheses, references, backend=meteor_backend, stemmer=stemmer, tokenizer=tokenizer)
    _prepare(hypotheses, references, tokenizer)  # re-raise the empty-caption warning for the caller
    if len(hypotheses) == 1:
        warnings.warn("CIDEr-D of a single caption is 0: its idf weights need a corpus of several videos",
                      MetricWarning, stacklevel=2)
    return {**b.scores, "CIDEr-D": c.score, "METEOR": m.score}
