// A server that crashes on its first two starts (it counts them in the file $STARTS_FILE), then serves on a free port
// and closes on SIGTERM. A background `sleep` in its process group stands for a helper it started.
import { spawn } from "node:child_process"
import * as Fs from "node:fs"
import * as Http from "node:http"
import process from "node:process"

const file = process.env.STARTS_FILE
const start = (Fs.existsSync(file) ? Number(Fs.readFileSync(file, "utf8")) : 0) + 1
Fs.writeFileSync(file, String(start))
if (start <= 2) {
  process.stderr.write(`start ${start}: cannot open the database, giving up\n`)
  process.exit(3)
}
const helper = spawn("sleep", ["1000"], { stdio: "ignore" })
const server = Http.createServer((_, response) => response.end("hello from the child\n"))
server.listen(0, "127.0.0.1", () => {
  process.stdout.write(`start ${start}: listening on ${server.address().port} (helper ${helper.pid})\n`)
})
process.on("SIGTERM", () => {
  process.stdout.write("SIGTERM: closing\n")
  server.close(() => process.exit(0))
  server.closeAllConnections()
})
