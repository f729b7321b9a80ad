"""The notation layer: how each symbol a derivation uses is shown to a reader.

Kernel arguments keep their code names (``inv_std``, ``g_xhat_mean``, ``p_dot_g``) because
generated kernels are built from them; a reader never sees those names. Every printer
(LaTeX, terminal, notebook) looks a symbol up here:

* ``SYMBOLS``  the default display form of a code name, as (LaTeX, Unicode text);
* ``override(d, ...)``  per-derivation forms, chosen to match the source the derivation
  cites (e.g. batch size ``B`` as in 000 §2.3, or ``m`` as in 001 Q2), and the letter
  that names the sizes of fixed-size checks (``size_letter``);
* names not in either table get an automatic form: Greek names become letters, a
  ``hat``/``tilde``/``bar`` suffix an accent, trailing digits a subscript, and a
  multi-letter word upright (``\\mathrm``), never an italic product of letters.

Names that already are LaTeX (contain a backslash, braces, ``^``, brackets or spaces)
were written for display by the author and are printed as they are.
"""
from __future__ import annotations

import dataclasses
import re
from typing import Any

__all__ = [
    "FUNCTIONS",
    "SYMBOLS",
    "Forms",
    "auto_latex",
    "auto_text",
    "forms_for",
    "override",
    "size_letter",
    "to_subscript",
    "to_superscript",
]

# code name -> (LaTeX, Unicode text)
SYMBOLS: dict[str, tuple[str, str]] = {
    "inv_std": (r"\sigma^{-1}", "σ⁻¹"),
    "g_mean": (r"\bar{g}", "ḡ"),
    "g_xhat_mean": (r"\overline{g\hat{x}}", "⟨g x̂⟩"),
    "g_xc_mean": (r"\overline{g\tilde{x}}", "⟨g x̃⟩"),
    "xc": (r"\tilde{x}", "x̃"),
    "xhat": (r"\hat{x}", "x̂"),
    "htilde": (r"\tilde{h}", "h̃"),
    "eps": (r"\varepsilon", "ε"),
    "varepsilon": (r"\varepsilon", "ε"),
    "lamda": (r"\lambda", "λ"),
    "p_dot_g": (r"\langle p, g\rangle", "⟨p, g⟩"),
    "p_dot_e": (r"\langle p, e\rangle", "⟨p, e⟩"),
    "sum_exp_shifted": (r"S", "S"),
    "log_sum_exp_shifted": (r"\log S", "log S"),
    "m_g": (r"\bar{g}", "ḡ"),
    "m_gx": (r"\overline{g\hat{x}}", "⟨g x̂⟩"),
    "gamma_BN": (r"\gamma_{\mathrm{BN}}", "γ_BN"),
    "grad_L": (r"\nabla L", "∇L"),
    "grad_R": (r"\nabla R", "∇R"),
    "L_lambda": (r"L_{\lambda}", "L_λ"),
    "theta_lambda": (r"\theta_{\lambda}", "θ_λ"),
    "theta_new": (r"\theta'", "θ′"),
    "theta_new_i": (r"\theta'_{i}", "θ′ᵢ"),
    "step_t": (r"\Delta\theta_{t}", "Δθₜ"),
    "mu_h": (r"\mu_{h}", "μₕ"),
    "mu_w": (r"\mu_{w}", "μ_w"),
    "sigma_h": (r"\sigma_{h}", "σₕ"),
    "sigma_w": (r"\sigma_{w}", "σ_w"),
    "E_h": (r"\mathbb{E}[h]", "E[h]"),
    "E_h2": (r"\mathbb{E}[h^{2}]", "E[h²]"),
    "q_next": (r"q'", "q′"),
    "r_mu": (r"r_{\mu}", "r_μ"),
    "r_nu": (r"r_{\nu}", "r_ν"),
    "y_sum": (r"\textstyle\sum_k y_k", "Σₖ yₖ"),
    "y_rest": (r"y_{\mathrm{rest}}", "y_rest"),
    "z_max": (r"z_{\max}", "z_max"),
    "x_drop": (r"x_{\mathrm{drop}}", "x_drop"),
    "y_drop": (r"y_{\mathrm{drop}}", "y_drop"),
    "y_corr": (r"y_{\mathrm{corr}}", "y_corr"),
    "y_orig": (r"y_{\mathrm{orig}}", "y_orig"),
    "n_in": (r"n_{\mathrm{in}}", "n_in"),
    "n_out": (r"n_{\mathrm{out}}", "n_out"),
    "D_in": (r"D_{\mathrm{in}}", "D_in"),
    "beta1": (r"\beta_{1}", "β₁"),
    "beta2": (r"\beta_{2}", "β₂"),
    "ratio": (r"\rho", "ρ"),
    "mean": (r"\mu", "μ"),
    "var": (r"\sigma^{2}", "σ²"),
    "Var": (r"\operatorname{Var}", "Var"),
}

# SymPy function class name -> (LaTeX, Unicode text) of the function's name
FUNCTIONS: dict[str, tuple[str, str]] = {
    "Ell": (r"\ell", "ℓ"),
    "E": (r"\mathbb{E}", "E"),
    "Var": (r"\operatorname{Var}", "Var"),
    "GELU_sigma": (r"\mathrm{GELU}_{\sigma}", "GELU_σ"),
    "GELU_tanh": (r"\mathrm{GELU}_{\tanh}", "GELU_tanh"),
    "selu": (r"\mathrm{selu}", "selu"),
}

_GREEK = ["alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta", "iota",
          "kappa", "lambda", "mu", "nu", "xi", "omicron", "pi", "rho", "sigma", "tau",
          "upsilon", "phi", "chi", "psi", "omega"]
_GREEK_TEXT = dict(zip(_GREEK, "αβγδεζηθικλμνξοπρστυφχψω", strict=True))
_GREEK_TEXT.update({"Gamma": "Γ", "Delta": "Δ", "Theta": "Θ", "Lambda": "Λ", "Xi": "Ξ",
                    "Pi": "Π", "Sigma": "Σ", "Phi": "Φ", "Psi": "Ψ", "Omega": "Ω",
                    "eps": "ε", "varepsilon": "ε", "lamda": "λ", "ell": "ℓ"})
_GREEK_LATEX = {k: "\\" + k for k in _GREEK_TEXT}
_GREEK_LATEX.update({"epsilon": r"\varepsilon", "eps": r"\varepsilon",
                     "varepsilon": r"\varepsilon", "lamda": r"\lambda", "phi": r"\varphi"})
_ACCENTS = {"hat": ("\\hat", "\u0302"), "tilde": ("\\tilde", "\u0303"),
            "bar": ("\\bar", "\u0304"), "dot": ("\\dot", "\u0307")}
_SUB = dict(zip("0123456789+-−=()aehijklmnoprstuvxβγρφχ",
                "₀₁₂₃₄₅₆₇₈₉₊₋₋₌₍₎ₐₑₕᵢⱼₖₗₘₙₒₚᵣₛₜᵤᵥₓᵦᵧᵨᵩᵪ", strict=True))
_SUP = dict(zip("0123456789+-−=()abcdefghijklmnoprstuvwxyzABDEGHIJKLMNOPRTUVW*",
                "⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻⁻⁼⁽⁾ᵃᵇᶜᵈᵉᶠᵍʰⁱʲᵏˡᵐⁿᵒᵖʳˢᵗᵘᵛʷˣʸᶻᴬᴮᴰᴱᴳᴴᴵᴶᴷᴸᴹᴺᴼᴾᴿᵀᵁⱽᵂ*",
                strict=True))


def to_subscript(text: str) -> str | None:
    """``text`` in Unicode subscript characters, or None if one has no subscript form."""
    try:
        return "".join(_SUB[c] for c in text)
    except KeyError:
        return None


def to_superscript(text: str) -> str | None:
    """``text`` in Unicode superscript characters, or None if one has none."""
    try:
        return "".join(_SUP[c] for c in text)
    except KeyError:
        return None


_AUTHORED = re.compile(r"[\\{}^\[\]() ,|'*]")


def _split(name: str) -> tuple[str, str, list[str]] | None:
    """(head, accent, subscripts) of a code name like ``Ahat_t``, ``beta1``, ``W_11``."""
    if _AUTHORED.search(name) or not name:
        return None
    head, *subs = name.split("_")
    if not head:
        return None
    accent = ""
    for acc in _ACCENTS:
        if head.endswith(acc) and len(head) > len(acc):
            head, accent = head[:-len(acc)], acc
            break
    m = re.fullmatch(r"([A-Za-z]+?)(\d+)", head)
    if m and (len(m.group(1)) == 1 or m.group(1) in _GREEK_TEXT):
        head, subs = m.group(1), [m.group(2), *subs]
    return head, accent, [s for s in subs if s]


def _is_index(part: str) -> bool:
    return bool(re.fullmatch(r"\d+|[A-Za-z]\d*|[A-Za-z]{2}", part)) or part in _GREEK_TEXT


def auto_latex(name: str) -> str | None:
    """LaTeX for a code name not in the tables (None: print it as SymPy does)."""
    parts = _split(name)
    if parts is None:
        return None
    head, accent, subs = parts
    if head in _GREEK_LATEX:
        body = _GREEK_LATEX[head]
    elif len(head) == 1:
        body = head
    else:
        body = rf"\mathrm{{{head}}}"
    if accent:
        body = f"{_ACCENTS[accent][0]}{{{body}}}"
    if subs:
        shown = [(_GREEK_LATEX.get(s, s) if _is_index(s) else rf"\mathrm{{{s}}}") for s in subs]
        body += "_{" + ",".join(shown) + "}"
    return body


def auto_text(name: str) -> str | None:
    """Unicode text for a code name not in the tables (None: print it as SymPy does)."""
    parts = _split(name)
    if parts is None:
        return None
    head, accent, subs = parts
    body = _GREEK_TEXT.get(head, head)
    if accent:
        body = body + _ACCENTS[accent][1]
    if subs:
        joined = ",".join(_GREEK_TEXT.get(s, s) for s in subs)
        sub = to_subscript(joined)
        body += sub if sub is not None else "_" + joined
    return body


@dataclasses.dataclass
class Forms:
    """The display forms in force for one derivation (defaults plus its overrides)."""

    symbols: dict[str, tuple[str, str]]
    sizes: str = ""  # the letter naming the sizes of fixed-size checks ("B", "K" ...)

    def latex(self, name: str) -> str | None:
        if name in self.symbols:
            return self.symbols[name][0]
        return auto_latex(name)

    def text(self, name: str) -> str | None:
        if name in self.symbols:
            return self.symbols[name][1]
        return auto_text(name)


# Per-document forms, matching the source each derivation cites. batchnorm-backward
# follows 000 §2.3 (batch size B, std = √(ν + ε)); adam follows 001 (m is the first
# moment, so fixed sizes are n); softmax rows count K classes.
_OVERRIDES: dict[str, dict[str, tuple[str, str]]] = {
    "batchnorm-backward": {"inv_std": (r"\mathrm{std}^{-1}", "std⁻¹"),
                           "xhat": (r"\hat{Z}", "Ẑ"),
                           "g_xhat_mean": (r"\overline{g\hat{Z}}", "⟨g Ẑ⟩")},
    "batchnorm-epsilon": {"inv_std": (r"\mathrm{std}^{-1}", "std⁻¹")},
    "batchnorm-std-eps": {"inv_std": (r"\sigma^{-1}", "σ⁻¹")},
}
_SIZE_LETTER: dict[str, str] = {
    "batchnorm-backward": "B", "batchnorm-epsilon": "B", "batchnorm-forward": "B",
    "batchnorm-std-eps": "m", "layernorm-backward": "D", "layernorm-forward": "D",
    "softmax-jacobian": "K", "softmax-ce-gradient": "K", "softmax-mse-gradient": "K",
    "stable-softmax": "K", "adam": "n", "mlp-backprop": "n",
}


def override(d_or_slug: Any, forms: dict[str, tuple[str, str]] | None = None, *,
             sizes: str | None = None) -> None:
    """Register display forms for one derivation (its slug or the Derivation itself):
    ``forms`` maps a code name to (LaTeX, Unicode); ``sizes`` is the letter of the
    size in its fixed-size checks (batch size B, number of classes K ...)."""
    slug = getattr(d_or_slug, "slug", d_or_slug)
    if forms:
        _OVERRIDES.setdefault(slug, {}).update(forms)
    if sizes is not None:
        _SIZE_LETTER[slug] = sizes


def size_letter(d_or_slug: Any, letter: str) -> None:
    """The letter naming the size in a derivation's fixed-size checks."""
    override(d_or_slug, sizes=letter)


def forms_for(d: Any) -> Forms:
    """The forms in force for derivation ``d`` (None: the defaults)."""
    slug = getattr(d, "slug", None)
    table = dict(SYMBOLS)
    if slug is not None:
        table.update(_OVERRIDES.get(slug, {}))
    return Forms(table, _SIZE_LETTER.get(slug, "") if slug else "")
