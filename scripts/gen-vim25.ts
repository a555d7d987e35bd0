/** `npm run vim25`: writes provider/vim/types.generated.ts from the compact vim25 WSDL (provider/vim/codegen.ts). */
import * as fs from "node:fs";
import * as path from "node:path";
import { renderVimTypes } from "../provider/vim/codegen";
import { vimSchema } from "../provider/vim/schema";
import { packageRoot } from "../provider/paths";

const out = path.join(packageRoot(), "provider", "vim", "types.generated.ts");
fs.writeFileSync(out, renderVimTypes(vimSchema()));
console.log(`wrote ${path.relative(packageRoot(), out)}`);
