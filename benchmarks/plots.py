"""PNG plots of the sections, with matplotlib when it is installed (skipped, with a message,
when it is not)."""

from __future__ import annotations

import statistics
from pathlib import Path
from typing import Any, Callable, Dict, List, Sequence

from harness import Section, spread
from report import fmt


def draw_all(
    sections: Sequence[Section], directory: Path, log: Callable[[str], None]
) -> Dict[str, Path]:
    """Draw every section that has a plot kind; the PNG path of each, by section key."""
    try:
        import matplotlib
    except ImportError:
        log("plots: matplotlib is not installed, skipping them (pip install matplotlib)")
        return {}
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    directory.mkdir(parents=True, exist_ok=True)
    drawn: Dict[str, Path] = {}
    for section in sections:
        kind = _KINDS.get(section.plot)
        if kind is None or not section.series:
            continue
        fig, ax = plt.subplots(figsize=(9, 4.8))
        kind(section, ax)
        ax.set_title(_wrap(section.title), fontsize=10)
        horizontal = section.plot == "hbars" or (
            section.plot == "bars" and len(section.cases()) == 1
        )
        ax.grid(True, axis="x" if horizontal else "y", alpha=0.3)
        fig.tight_layout()
        path = directory / f"{section.key}.png"
        fig.savefig(path, dpi=110)
        plt.close(fig)
        drawn[section.key] = path
        log(f"plots: wrote {path}")
    return drawn


def _wrap(title: str, width: int = 90) -> str:
    words, lines, line = title.split(), [], ""
    for word in words:
        if line and len(line) + len(word) + 1 > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}".strip()
    return "\n".join([*lines, line])


def _variants(section: Section) -> List[str]:
    return list(dict.fromkeys(s.variant for s in section.series))


def _errors(values: List[float]) -> List[float]:
    s = spread(values)
    return [s.median - s.q1, s.q3 - s.median]


def _bars(section: Section, ax: Any, horizontal: bool = False) -> None:
    """Medians grouped by case, one bar per variant, IQR as error bars (one case: one bar per
    variant, labelled on the axis)."""
    cases, variants = section.cases(), _variants(section)
    if len(cases) == 1:
        _single_case_bars(section, ax, cases[0], variants)
        return
    width = 0.8 / len(variants)
    for i, variant in enumerate(variants):
        positions, heights, errors = [], [], []
        for j, case in enumerate(cases):
            series = section.find(case, variant)
            if series is None:
                continue
            positions.append(j - 0.4 + width * (i + 0.5))
            heights.append(statistics.median(series.values))
            errors.append(_errors(series.values))
        err = list(zip(*errors)) if errors else None
        if horizontal:
            ax.barh(positions, heights, height=width, xerr=err, label=variant, capsize=2)
        else:
            ax.bar(positions, heights, width=width, yerr=err, label=variant, capsize=2)
    label = f"{section.metric} ({section.unit}), median and IQR"
    if horizontal:
        ax.set_yticks(range(len(cases)), cases, fontsize=8)
        ax.invert_yaxis()
        ax.set_xlabel(label)
    else:
        ax.set_xticks(range(len(cases)), cases, fontsize=8)
        ax.set_ylabel(label)
    ax.legend(fontsize=8)


def _single_case_bars(section: Section, ax: Any, case: str, variants: List[str]) -> None:
    values = [s.values for v in variants if (s := section.find(case, v)) is not None]
    medians = [statistics.median(v) for v in values]
    err = list(zip(*[_errors(v) for v in values]))
    colors = [f"C{i}" for i in range(len(variants))]
    bars = ax.barh(range(len(variants)), medians, xerr=err, color=colors, capsize=3)
    ax.bar_label(bars, labels=[fmt(m) for m in medians], padding=4, fontsize=8)
    ax.set_yticks(range(len(variants)), variants, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel(f"{section.metric} ({section.unit}), median and IQR: {case}")


def _hbars(section: Section, ax: Any) -> None:
    _bars(section, ax, horizontal=True)


def _stacked(section: Section, ax: Any) -> None:
    """One horizontal bar per variant, its cases (stages) stacked in order; a case named
    "total ..." is drawn as a tick instead, to show what the stages leave out."""
    variants = _variants(section)
    left = [0.0] * len(variants)
    for i, case in enumerate(section.cases()):
        medians = [
            statistics.median(s.values) if (s := section.find(case, v)) is not None else 0.0
            for v in variants
        ]
        if case.startswith("total"):
            ax.scatter(medians, range(len(variants)), marker="|", s=400, color="black", label=case)
            continue
        ax.barh(range(len(variants)), medians, left=left, label=case, color=f"C{i}")
        left = [a + b for a, b in zip(left, medians)]
    ax.set_yticks(range(len(variants)), variants, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel(f"{section.metric} ({section.unit}), medians")
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.13), ncol=4)


def _lines(section: Section, ax: Any) -> None:
    """Median against x (log-log), IQR as error bars, one line per variant."""
    for variant in _variants(section):
        points = [
            (section.x_values[case], s.values)
            for case in section.cases()
            if (s := section.find(case, variant)) is not None
        ]
        xs = [x for x, _ in points]
        ys = [statistics.median(v) for _, v in points]
        err = list(zip(*[_errors(v) for _, v in points]))
        ax.errorbar(xs, ys, yerr=err, marker="o", capsize=3, label=variant)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("pending tasks (log)")
    ax.set_ylabel(f"{section.metric} ({section.unit}, log), median and IQR")
    ax.legend(fontsize=8)


def _ratios(section: Section, ax: Any) -> None:
    """Paired ratio to the baseline per case: median, min-max as error bars; 1 +- 5 % shaded."""
    cases = section.cases()
    others = [v for v in _variants(section) if v != section.baseline]
    width = 0.8 / max(1, len(others))
    for i, variant in enumerate(others):
        positions, medians, errors = [], [], []
        for j, case in enumerate(cases):
            series = section.find(case, variant)
            ratios = section.ratios(series) if series is not None else None
            if not ratios:
                continue
            s = spread(ratios)
            positions.append(j - 0.4 + width * (i + 0.5))
            medians.append(s.median)
            errors.append([s.median - s.low, s.high - s.median])
        if positions:
            err = list(zip(*errors))
            ax.errorbar(positions, medians, yerr=err, fmt="o", capsize=4, label=variant)
    ax.axhline(1.0, color="black", linewidth=0.8)
    ax.axhspan(0.95, 1.05, color="green", alpha=0.1, label="±5 %")
    ax.set_xticks(range(len(cases)), cases, fontsize=8)
    ax.set_ylabel(f"{section.metric} / {section.baseline} (median, min..max)")
    ax.legend(fontsize=8)


_KINDS: Dict[str, Callable[[Section, Any], None]] = {
    "bars": _bars,
    "hbars": _hbars,
    "lines": _lines,
    "stacked": _stacked,
    "ratios": _ratios,
}
