"""Reference agents for recsim-bench (they depend on ``recsim_bench``, never the other way round)."""
