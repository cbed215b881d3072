import AttnCore
import Accelerator
import ReferenceModels
