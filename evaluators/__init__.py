"""evaluators: scoring checkpoints in-domain and out-of-domain. Built in issue #4.

Never imports `mixopt` or `studies`.
"""
