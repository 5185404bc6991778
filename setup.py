"""Packaging for recsim-bench."""

from pathlib import Path

from setuptools import find_packages, setup

BASELINES = ["torch>=2.1,<3", "stable-baselines3>=2.3,<3", "sb3-contrib>=2.3,<3"]
TEST = ["pytest>=7", "hypothesis>=6", "stable-baselines3>=2.3,<3", "import-linter>=2.1,<3"]
RAY = ["ray>=2.9"]
PLOTS = ["matplotlib>=3.7"]

setup(
    name="recsim-bench",
    version="0.1.0",
    description="Gymnasium benchmark suite for reinforcement learning and meta-RL in recommender systems",
    long_description=Path(__file__).with_name("README.md").read_text(encoding="utf-8"),
    long_description_content_type="text/markdown",
    license="Apache-2.0",
    python_requires=">=3.11",
    packages=find_packages(include=["recsim_bench", "recsim_bench.*", "baselines", "baselines.*"]),
    package_data={"recsim_bench": ["envs/reference_returns.json", "scoring/protocols/*.json"], "baselines": ["configs/*.toml", "configs/README.md"]},
    install_requires=["gymnasium>=1.0,<2", "numpy>=1.24", "scipy>=1.10"],
    extras_require={
        "baselines": BASELINES,
        "ray": RAY,
        "plots": PLOTS,
        "test": TEST,
        "all": sorted(set(BASELINES + TEST + RAY + PLOTS)),
    },
    entry_points={
        "console_scripts": ["recsim-bench=recsim_bench.cli:main"],
        # Agents by name (recsim_bench.agents.make_agent); another package registers its own in this group.
        "recsim_bench.agents": [
            "random = recsim_bench.references:RandomReference",
            "oracle = recsim_bench.references:OracleReference",
            "ridge-greedy = baselines.ridge_greedy:RidgeGreedyAgent",
            "linucb = baselines.linucb:LinUCBAgent",
            "thompson = baselines.thompson:ThompsonAgent",
            "ppo = baselines.ppo:PPOAgent",
            "slateq = baselines.slateq:SlateQAgent",
            "sb3-ppo = baselines.sb3_ppo:SB3PPOAgent",
        ],
    },
    classifiers=[
        "Programming Language :: Python :: 3",
        "Topic :: Scientific/Engineering :: Artificial Intelligence",
    ],
)
