import pkg from "../package.json" with { type: "json" };

/** The package's version, which `--version` prints (bundled into the executables). */
export const VERSION: string = pkg.version;
