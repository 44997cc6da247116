"""Named sizes of the synthetic inventory (performance.md §5.1) and the dataclass behind them."""

from __future__ import annotations

from dataclasses import dataclass

from dynamo.errors import ConfigurationError

__all__ = ["SCALES", "Scale", "scale_named"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Scale:
    """How big a synthetic inventory is.

    ``t1_sites`` T1 centres each give a ``_Disk`` and an ``_MSS`` node; ``with_t0`` adds
    ``T0_CH_CERN_Disk`` and ``T0_CH_CERN_MSS``; ``with_ral_echo`` adds ``T1_UK_RAL_ECHO_MSS``.
    ``datasets``, ``blocks`` and ``files`` are targets: the generator meets ``datasets`` exactly
    and the others within a few per cent. ``max_blocks_per_dataset`` is the size of the one
    largest (premix-like) dataset.
    """

    name: str
    datasets: int
    blocks: int
    files: int
    t1_sites: int
    t2_sites: int
    with_t0: bool = True
    with_ral_echo: bool = True
    max_blocks_per_dataset: int = 0

    def __post_init__(self) -> None:
        if self.datasets < 1 or self.blocks < self.datasets or self.files < self.blocks:
            raise ConfigurationError(
                f"scale {self.name!r}: need 1 <= datasets <= blocks <= files, got "
                f"{self.datasets}, {self.blocks}, {self.files}"
            )
        if self.t1_sites < 1 and not self.with_t0:
            raise ConfigurationError(f"scale {self.name!r} has no tape node")
        if self.t2_sites < 0 or self.t1_sites < 0:
            raise ConfigurationError(f"scale {self.name!r}: negative site count")

    @property
    def num_sites(self) -> int:
        return 2 * self.t1_sites + self.t2_sites + 2 * self.with_t0 + self.with_ral_echo

    @property
    def largest_dataset_blocks(self) -> int:
        """The block count of the largest dataset (default: 1/120 of all blocks, at least 1)."""
        if self.max_blocks_per_dataset > 0:
            return self.max_blocks_per_dataset
        return max(1, self.blocks // 120)


_M = Scale(
    name="m",
    datasets=300_000,
    blocks=3_000_000,
    files=60_000_000,
    t1_sites=7,
    t2_sites=54,
    max_blocks_per_dataset=25_000,
)

SCALES: dict[str, Scale] = {
    "xs": Scale(
        name="xs",
        datasets=2_000,
        blocks=20_000,
        files=400_000,
        t1_sites=2,
        t2_sites=6,
        with_t0=False,
        with_ral_echo=False,
    ),
    "s": Scale(
        name="s",
        datasets=30_000,
        blocks=300_000,
        files=6_000_000,
        t1_sites=7,
        t2_sites=54,
        max_blocks_per_dataset=2_500,
    ),
    "m": _M,
    "l": Scale(
        name="l",
        datasets=600_000,
        blocks=6_000_000,
        files=120_000_000,
        t1_sites=7,
        t2_sites=54,
        max_blocks_per_dataset=50_000,
    ),
}
"""XS (CI), S (1/10 of M, same 71 nodes), M (the CMS target: 71 nodes), L (2x M)."""


def scale_named(name: str) -> Scale:
    """The named scale (case-insensitive); ConfigurationError for an unknown name."""
    try:
        return SCALES[name.lower()]
    except KeyError:
        raise ConfigurationError(
            f"unknown scale {name!r} (choose from {', '.join(SCALES)})"
        ) from None
