import Experiments
print("attnsim-bench: no benchmarks yet")
