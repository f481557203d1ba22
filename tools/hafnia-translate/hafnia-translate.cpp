//===- hafnia-translate.cpp - Translations into and out of Hafnia's IR ----===//

#include "hafnia/Import/OnnxImporter.h"
#include "mlir/Tools/mlir-translate/MlirTranslateMain.h"

int main(int argc, char **argv) {
  hafnia::registerOnnxImportTranslation();
  return mlir::failed(
      mlir::mlirTranslateMain(argc, argv, "Hafnia translation driver\n"));
}
