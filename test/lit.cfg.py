# lit configuration for Hafnia's compiler tests.
import os

import lit.formats

config.name = "Hafnia"
config.test_format = lit.formats.ShTest(execute_external=True)
config.suffixes = [".mlir", ".onnxtxt", ".test"]
config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = os.path.join(config.hafnia_obj_root, "test")
config.excludes = ["Inputs", "Unit", "fuzz", "models", "CMakeLists.txt", "compare_logits.py",
                   "lit.cfg.py", "lit.site.cfg.py"]

# Our tools first, then FileCheck, not, count and split-file, which Debian
# keeps in LLVM's private bin directory.
config.environment["PATH"] = os.pathsep.join(
    [config.hafnia_tools_dir, config.llvm_tools_dir,
     config.environment.get("PATH", os.environ.get("PATH", ""))])

config.substitutions.append(("%python", config.python))
config.substitutions.append(("%onnx_testdata", config.onnx_testdata))
config.substitutions.append(("%models", os.path.join(
    config.hafnia_src_root, "test", "models")))
config.substitutions.append(("%configs", os.path.join(
    config.hafnia_src_root, "configs")))

# test/e2e/third-party.test fetches packages with npm pack: it needs the npm
# registry, and reports UNSUPPORTED (requires npm-registry) without it.
import subprocess
try:
    if subprocess.run(["npm", "ping"], capture_output=True,
                      timeout=20).returncode == 0:
        config.available_features.add("npm-registry")
except (OSError, subprocess.TimeoutExpired):
    pass
