import Experiments
print("attnsim")
