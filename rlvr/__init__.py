"""rlvr: the inner GRPO trainer for a fixed mixture (domains, data, rewards, TRL + vLLM).

Driven through a job file; never imports `mixopt` or `studies`. Built in issue #3.
"""
