// Monaco's ESM side-effect modules ship without type declarations; they export nothing we use.
declare module "monaco-editor/esm/vs/editor/editor.all.js";
declare module "monaco-editor/esm/vs/basic-languages/monaco.contribution.js";
