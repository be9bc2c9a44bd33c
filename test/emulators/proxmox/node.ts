/**
 * The state and API handlers of one emulated PVE node: storages with files on disk, the VMs'
 * configurations, VMs booted by QEMU (TCG) on the node's bridge, and worker tasks. Each
 * handler cites the Proxmox source it follows; wording of messages is PVE's where the source
 * gives it.
 */
import { createHash, randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { run } from "../../../infra/targets/local/netns";
import { isQemuRunning, launchQemu, stopQemu } from "../../../infra/targets/local/qemu";
import { SerialConsoles } from "./console";
import { die, paramError } from "./errors";
import { MultipartUpload } from "./multipart";
import { addTap, BridgeNetwork, leasedAddress, removeTap } from "./network";
import { parseBoolean, parsePropertyString, propertyStringFormat } from "./schema";
import { TaskContext, TaskRunner } from "./tasks";

/** A storage of the node: `dir` is file-based (uploads possible), `lvmthin` is not. */
export interface StorageSpec {
  readonly type: "dir" | "lvmthin";
  /** Content types, e.g. `["iso", "vztmpl", "import"]` or `["images", "rootdir"]`. */
  readonly content: readonly string[];
}

/** PVE's defaults after install (`local`, `local-lvm`), with `import` added to `local`. */
export const DEFAULT_STORAGES: Record<string, StorageSpec> = {
  local: { type: "dir", content: ["iso", "vztmpl", "backup", "import"] },
  "local-lvm": { type: "lvmthin", content: ["images", "rootdir"] },
};

export interface Vm {
  readonly vmid: number;
  config: Record<string, string>;
  lock?: string;
  readonly dir: string;
  readonly files: { pidFile: string; qmpSocket: string; serialLog: string };
  tap?: string;
  startedAt?: number;
}

export interface RequestContext {
  readonly params: Record<string, string>;
  /** `user@realm!tokenid` of the API token. */
  readonly user: string;
  readonly upload?: MultipartUpload;
}

type Handler = (ctx: RequestContext) => unknown | Promise<unknown>;

/** Options the node is made with (see ProxmoxEmulatorOptions). */
export interface NodeOptions {
  readonly node: string;
  readonly dir: string;
  readonly storages: Record<string, StorageSpec>;
  readonly network?: BridgeNetwork;
  readonly accel: "tcg" | "kvm";
  version: string;
}

const DRIVE_KEY = /^(virtio|scsi|sata|ide)(\d+)$/;
const NET_KEY = /^net(\d+)$/;

/** Parses a VM config value (`virtio0`, `net0`, `smbios1`, `memory`) with its schema format. */
function parseVmOption(key: string, value: string): Record<string, string> {
  return parsePropertyString(propertyStringFormat("POST", "/nodes/{node}/qemu", key), value);
}

/** pve-common `PVE::Tools::format_size`-like: `size=` as qemu-server writes it in a drive. */
function formatSize(bytes: number): string {
  const units: [number, string][] = [
    [1024 ** 4, "T"],
    [1024 ** 3, "G"],
    [1024 ** 2, "M"],
    [1024, "K"],
  ];
  for (const [unit, suffix] of units) if (bytes % unit === 0) return `${bytes / unit}${suffix}`;
  return `${bytes}`;
}

export class PveNode {
  readonly tasks: TaskRunner;
  readonly consoles: SerialConsoles;
  readonly vms = new Map<number, Vm>();
  private readonly handlers: Record<string, Handler>;

  constructor(readonly o: NodeOptions) {
    this.tasks = new TaskRunner(o.node);
    this.consoles = new SerialConsoles(this.tasks);
    for (const id of Object.keys(o.storages))
      fs.mkdirSync(this.storageDir(id), { recursive: true });
    fs.mkdirSync(path.join(o.dir, "vms"), { recursive: true });
    fs.mkdirSync(path.join(o.dir, "tmp"), { recursive: true });
    this.handlers = {
      "GET /version": () => this.version(),
      "GET /nodes": () => [this.nodeStatus()],
      "GET /cluster/nextid": (c) => this.nextid(c.params),
      "GET /nodes/{node}/storage": (c) => this.storageList(c.params),
      "GET /nodes/{node}/storage/{storage}/status": (c) => this.storageStatus(c.params.storage),
      "GET /nodes/{node}/storage/{storage}/content": (c) => this.content(c.params),
      "GET /nodes/{node}/storage/{storage}/content/{volume}": (c) => this.volumeInfo(c.params),
      "DELETE /nodes/{node}/storage/{storage}/content/{volume}": (c) => this.deleteVolume(c),
      "POST /nodes/{node}/storage/{storage}/upload": (c) => this.upload(c),
      "GET /nodes/{node}/qemu": () => [...this.vms.values()].map((vm) => this.vmStatus(vm)),
      "POST /nodes/{node}/qemu": (c) => this.createVm(c),
      "DELETE /nodes/{node}/qemu/{vmid}": (c) => this.destroyVm(c),
      "GET /nodes/{node}/qemu/{vmid}/config": (c) => this.vmConfig(c.params),
      "GET /nodes/{node}/qemu/{vmid}/status/current": (c) => this.vmStatus(this.vm(c.params.vmid)),
      "POST /nodes/{node}/qemu/{vmid}/status/start": (c) => this.startVm(c),
      "POST /nodes/{node}/qemu/{vmid}/status/stop": (c) => this.stopVm(c),
      "POST /nodes/{node}/qemu/{vmid}/termproxy": (c) =>
        this.consoles.open(this.vm(c.params.vmid).vmid, c.user),
      // Without `Upgrade: websocket` the call only checks the ticket (emulator.ts upgrades).
      "GET /nodes/{node}/qemu/{vmid}/vncwebsocket": (c) => this.checkConsoleTicket(c.params),
      "GET /nodes/{node}/tasks/{upid}/status": (c) => this.tasks.status(c.params.upid),
      "GET /nodes/{node}/tasks/{upid}/log": (c) =>
        this.tasks.log(c.params.upid, Number(c.params.start ?? 0), Number(c.params.limit ?? 50)),
    };
  }

  /** The handler for `METHOD template`, if the emulator offers that call. */
  handler(method: string, template: string): Handler | undefined {
    return this.handlers[`${method} ${template}`];
  }

  // ---- node ----

  /** pve-manager `PVE/API2/Version.pm`: `{version, release, repoid}`. */
  private version() {
    const release = this.o.version.split(".").slice(0, 2).join(".");
    return { version: this.o.version, release, repoid: "0e2b5c43e1a0e97f" };
  }

  /** pve-manager `PVE/API2/Nodes.pm` index: one entry per cluster node. */
  private nodeStatus() {
    return {
      node: this.o.node,
      status: "online",
      type: "node",
      id: `node/${this.o.node}`,
      cpu: 0.01,
      maxcpu: 2,
      mem: 1 << 30,
      maxmem: 8 << 30,
      uptime: 1000,
      level: "",
      ssl_fingerprint: "",
    };
  }

  /**
   * pve-manager `PVE/API2/Cluster.pm` nextid: the lowest free id from 100 (a JSON string), or
   * the asked `vmid` if free, else 400 "VM N already exists". Nothing is reserved.
   */
  private nextid(params: Record<string, string>) {
    if (params.vmid !== undefined) {
      if (this.vms.has(Number(params.vmid)))
        throw paramError({ vmid: `VM ${params.vmid} already exists` });
      return params.vmid;
    }
    let id = 100;
    while (this.vms.has(id)) id++;
    return String(id);
  }

  // ---- storage (pve-storage src/PVE/API2/Storage/{Status,Content}.pm) ----

  private storageDir(id: string): string {
    return path.join(this.o.dir, "storage", id);
  }

  private storage(id: string): StorageSpec {
    const s = this.o.storages[id];
    // pve-storage PVE::Storage::storage_config
    if (!s) throw die(`storage '${id}' does not exist`);
    return s;
  }

  private storageSummary(id: string) {
    const s = this.storage(id);
    const used = this.volumes(id).reduce((sum, v) => sum + v.size, 0);
    const total = 100 * 1024 ** 3;
    return {
      type: s.type,
      content: s.content.join(","),
      active: 1,
      enabled: 1,
      shared: 0,
      total,
      used,
      avail: total - used,
    };
  }

  private storageList(params: Record<string, string>) {
    return Object.keys(this.o.storages)
      .filter((id) => !params.content || this.o.storages[id].content.includes(params.content))
      .map((id) => ({ storage: id, ...this.storageSummary(id) }));
  }

  private storageStatus(id: string) {
    return this.storageSummary(id);
  }

  /** Every volume of a storage: `{volid, content, format, size, ctime, vmid?}`. */
  volumes(id: string) {
    const s = this.storage(id);
    const dir = this.storageDir(id);
    const out: {
      volid: string;
      content: string;
      format: string;
      size: number;
      ctime: number;
      vmid?: number;
      file: string;
    }[] = [];
    const stat = (file: string) => {
      const st = fs.statSync(file);
      return { size: st.size, ctime: Math.floor(st.ctimeMs / 1000), file };
    };
    const importDir = path.join(dir, "import");
    if (fs.existsSync(importDir))
      for (const name of fs.readdirSync(importDir).sort()) {
        const m = /\.(ova|ovf|qcow2|raw|vmdk)$/.exec(name);
        if (m)
          out.push({
            volid: `${id}:import/${name}`,
            content: "import",
            format: m[1],
            ...stat(path.join(importDir, name)),
          });
      }
    if (s.type === "dir") {
      const images = path.join(dir, "images");
      if (fs.existsSync(images))
        for (const vmid of fs.readdirSync(images).sort())
          for (const name of fs.readdirSync(path.join(images, vmid)).sort())
            out.push({
              volid: `${id}:${vmid}/${name}`,
              content: "images",
              format: "raw",
              vmid: Number(vmid),
              ...stat(path.join(images, vmid, name)),
            });
    } else {
      for (const name of fs.readdirSync(dir).sort()) {
        const m = /^vm-(\d+)-disk-\d+$/.exec(name);
        if (m)
          out.push({
            volid: `${id}:${name}`,
            content: "images",
            format: "raw",
            vmid: Number(m[1]),
            ...stat(path.join(dir, name)),
          });
      }
    }
    return out;
  }

  private content(params: Record<string, string>) {
    return this.volumes(params.storage)
      .filter((v) => !params.content || v.content === params.content)
      .filter((v) => !params.vmid || v.vmid === Number(params.vmid))
      .map(({ file: _file, ...v }) => v);
  }

  /** The file of `volid` (`storage:volname`), or a die as `PVE::Storage::path` would. */
  private volumePath(volid: string): string {
    const m = /^([a-z][a-z0-9\-_.]*[a-z0-9]):(.+)$/i.exec(volid);
    if (!m) throw die(`unable to parse volume ID '${volid}'`);
    const vol = this.volumes(m[1]).find((v) => v.volid === volid);
    if (!vol) throw die(`volume '${volid}' does not exist`);
    return vol.file;
  }

  /** `{volume}` may be a full volid or a volname of `{storage}` (pve-storage Content.pm). */
  private volid(params: Record<string, string>): string {
    const v = params.volume;
    return v.includes(":") ? v : `${params.storage}:${v}`;
  }

  private volumeInfo(params: Record<string, string>) {
    const volid = this.volid(params);
    const file = this.volumePath(volid);
    const st = fs.statSync(file);
    return {
      path: file,
      size: st.size,
      used: st.size,
      format: path.extname(file).slice(1) || "raw",
    };
  }

  /**
   * DELETE content: an `imgdel` task (pve-storage `src/PVE/API2/Storage/Content.pm` delete).
   * With `delay`, the call waits up to that many seconds: a task done by then gives `null`
   * (or its error as a 500), one still running its UPID.
   */
  private async deleteVolume(c: RequestContext) {
    const volid = this.volid(c.params);
    const file = this.volumePath(volid);
    const storage = volid.split(":")[0];
    const upid = this.tasks.start("imgdel", storage, c.user, async (t) => {
      fs.rmSync(file);
      t.log(`Removed volume '${volid}'`);
    });
    if (!c.params.delay) return upid;
    const status = await this.tasks.waitFor(upid, Number(c.params.delay) * 1000);
    if (status.status === "running") return upid;
    if (status.exitstatus !== "OK") throw die(status.exitstatus ?? "unknown error");
    return null;
  }

  /**
   * pve-storage `src/PVE/API2/Storage/Status.pm` upload: synchronous checks of the file name
   * (normalized, then `\.(ova|qcow2|raw|vmdk)` for import) and the storage (file-based, with
   * the content type), then an `imgcopy` task that verifies the checksum, checks the image
   * with `qemu-img info` as untrusted, and copies it into place.
   */
  private upload(c: RequestContext) {
    const { params, upload } = c;
    if (!upload) throw die("missing temporary file name");
    const storage = this.storage(params.storage);
    if (storage.type !== "dir") throw die(`can't upload to storage type '${storage.type}'`);
    const content = params.content;
    // pve-storage PVE::Storage::normalize_content_filename
    const filename = params.filename.replace(/^.*[/\\]/, "").replace(/[^a-zA-Z0-9_.-]/g, "_");
    let format: string;
    let subdir: string;
    if (content === "import") {
      const m = /[a-zA-Z0-9\-.+=_]+\.(ova|qcow2|raw|vmdk)$/.exec(filename);
      if (!m) throw paramError({ filename: "invalid filename or wrong extension" });
      format = m[1];
      subdir = "import";
    } else if (content === "iso") {
      if (!/[^/]+\.(iso|img)$/i.test(filename))
        throw paramError({ filename: "wrong file extension" });
      format = "iso";
      subdir = "template/iso";
    } else {
      throw paramError({ content: `upload content type '${content}' not allowed` });
    }
    if (!storage.content.includes(content))
      throw die(`storage '${params.storage}' does not support '${content}' content`);
    const tmp = path.join(this.o.dir, "tmp", `pveupload-${randomBytes(8).toString("hex")}`);
    fs.writeFileSync(tmp, upload.file);
    const dest = path.join(this.storageDir(params.storage), subdir, filename);
    return this.tasks.start(
      "imgcopy",
      "",
      c.user,
      async (t) => {
        t.log(`starting file import from: ${tmp}`);
        const algorithm = params["checksum-algorithm"];
        if (algorithm) {
          const got = createHash(algorithm).update(fs.readFileSync(tmp)).digest("hex");
          if (got.toLowerCase() !== params.checksum.toLowerCase())
            throw new Error(`checksum mismatch: got '${got}' != expect '${params.checksum}'`);
          t.log("calculating checksum...OK, checksum verified");
        }
        if (format !== "iso" && format !== "ova") await checkUntrustedImage(tmp, format);
        t.log(`target node: ${this.o.node}`);
        t.log(`target file: ${dest}`);
        t.log(`file size is: ${upload.file.length}`);
        fs.mkdirSync(path.dirname(dest), { recursive: true });
        fs.copyFileSync(tmp, dest); // PVE overwrites an existing file of that name
        t.log("finished file import successfully");
      },
      async () => undefined,
    );
  }

  // ---- VMs (qemu-server src/PVE/API2/Qemu.pm) ----

  private vm(vmid: string | number): Vm {
    const vm = this.vms.get(Number(vmid));
    // pve-guest-common PVE::AbstractConfig::load_config
    if (!vm)
      throw die(
        `Configuration file 'nodes/${this.o.node}/qemu-server/${vmid}.conf' does not exist`,
      );
    return vm;
  }

  private vmConfig(params: Record<string, string>) {
    const vm = this.vm(params.vmid);
    const conf: Record<string, unknown> = { ...vm.config };
    if (vm.lock) conf.lock = vm.lock;
    conf.digest = createHash("sha1")
      .update(
        Object.entries(vm.config)
          .map(([k, v]) => `${k}: ${v}\n`)
          .join(""),
      )
      .digest("hex");
    return conf;
  }

  isRunning(vm: Vm): boolean {
    return isQemuRunning(vm.files.pidFile);
  }

  /** qemu-server `vmstatus` for one VM. */
  private vmStatus(vm: Vm) {
    const running = this.isRunning(vm);
    const pid = running ? Number(fs.readFileSync(vm.files.pidFile, "utf8").trim()) : undefined;
    return {
      vmid: vm.vmid,
      name: vm.config.name ?? `VM ${vm.vmid}`,
      status: running ? "running" : "stopped",
      qmpstatus: running ? "running" : "stopped",
      ...(pid !== undefined && { pid }),
      uptime: running && vm.startedAt ? Math.floor((Date.now() - vm.startedAt) / 1000) : 0,
      cpus: Number(vm.config.cores ?? 1),
      maxmem: Number(vm.config.memory ?? 512) * 1024 * 1024,
      maxdisk: 0,
      ...(vm.lock && { lock: vm.lock }),
      ha: { managed: 0 },
    };
  }

  /**
   * Create (`create_vm`): the vmid must be free (pve-cluster `check_vmid_unused`, a
   * synchronous 500 via "unable to create VM N - …"); drives with `import-from` need the
   * `<storage>:0` syntax (`$check_drive_param`); NICs without a MAC get one
   * (`add_random_macs`, PVE's OUI BC:24:11). The config exists, locked, from here on; the
   * `qmcreate` task imports the disks with qemu-img and removes the VM again if it fails.
   */
  private createVm(c: RequestContext) {
    const p = c.params;
    const vmid = Number(p.vmid);
    if (this.vms.has(vmid))
      throw die(`unable to create VM ${vmid} - VM ${vmid} already exists on node '${this.o.node}'`);
    const config: Record<string, string> = {};
    const imports: {
      key: string;
      storage: string;
      source: string;
      drive: Record<string, string>;
    }[] = [];
    const newDisks: {
      key: string;
      storage: string;
      sizeGiB: number;
      drive: Record<string, string>;
    }[] = [];
    for (const [key, value] of Object.entries(p)) {
      if (["node", "vmid", "start"].includes(key)) continue;
      const drive = DRIVE_KEY.exec(key);
      if (drive) {
        const d = parseVmOption(key, value);
        const alloc = /^([a-z][a-z0-9\-_.]*[a-z0-9]):(\d+(?:\.\d+)?)$/i.exec(d.file);
        if (d["import-from"] !== undefined) {
          if (!alloc || Number(alloc[2]) !== 0)
            throw paramError({
              [key]:
                "'import-from' requires special syntax - use <storage ID>:0,import-from=<source>",
            });
          imports.push({ key, storage: alloc[1], source: d["import-from"], drive: d });
        } else if (alloc) {
          newDisks.push({ key, storage: alloc[1], sizeGiB: Number(alloc[2]), drive: d });
        } else {
          this.volumePath(d.file); // an existing volume must exist
          config[key] = value;
        }
        continue;
      }
      if (NET_KEY.test(key)) {
        const { model, macaddr, ...rest } = parseVmOption(key, value);
        // print_net: `<model>=<MAC>` first, then the other options
        const mac =
          macaddr ??
          `BC:24:11:${randomBytes(3)
            .toString("hex")
            .toUpperCase()
            .replace(/(..)(?!$)/g, "$1:")}`;
        config[key] = [
          `${model}=${mac}`,
          ...Object.entries(rest).map(([k, v]) => `${k}=${v}`),
        ].join(",");
        continue;
      }
      config[key] = value;
    }
    for (const d of [...imports, ...newDisks]) {
      const s = this.storage(d.storage);
      // qemu-server $check_storage_access: the target must hold VM images
      if (!s.content.includes("images"))
        throw die(`storage '${d.storage}' does not support vm images`);
    }
    const vmDir = path.join(this.o.dir, "vms", String(vmid));
    fs.mkdirSync(vmDir, { recursive: true });
    const vm: Vm = {
      vmid,
      config,
      lock: "create",
      dir: vmDir,
      files: {
        pidFile: path.join(vmDir, "qemu.pid"),
        qmpSocket: path.join(vmDir, "qmp.sock"),
        serialLog: path.join(vmDir, "serial0.log"),
      },
    };
    this.vms.set(vmid, vm);
    let diskIndex = 0;
    const allocate = (storage: string) => {
      const n = diskIndex++;
      if (this.storage(storage).type === "dir") {
        const file = path.join(
          this.storageDir(storage),
          "images",
          String(vmid),
          `vm-${vmid}-disk-${n}.raw`,
        );
        return { volid: `${storage}:${vmid}/vm-${vmid}-disk-${n}.raw`, file };
      }
      return {
        volid: `${storage}:vm-${vmid}-disk-${n}`,
        file: path.join(this.storageDir(storage), `vm-${vmid}-disk-${n}`),
      };
    };
    const driveValue = (volid: string, d: Record<string, string>, size: number) => {
      const rest = Object.entries(d)
        .filter(([k]) => k !== "file" && k !== "import-from" && k !== "size")
        .map(([k, v]) => `,${k}=${v}`)
        .join("");
      return `${volid}${rest},size=${formatSize(size)}`;
    };
    const created: string[] = [];
    return this.tasks.start(
      "qmcreate",
      String(vmid),
      c.user,
      async (t) => {
        for (const imp of imports) {
          const source = this.sourcePath(imp.source);
          const target = allocate(imp.storage);
          fs.mkdirSync(path.dirname(target.file), { recursive: true });
          created.push(target.file);
          const srcFormat = /\.(qcow2|vmdk)$/.exec(imp.source)?.[1] ?? "raw";
          t.log(`importing disk '${imp.source}' to VM ${vmid} ...`);
          await run([
            "qemu-img",
            "convert",
            "-p",
            "-f",
            srcFormat,
            "-O",
            "raw",
            source,
            target.file,
          ]);
          t.log(`Successfully imported disk as '${imp.key}:${target.volid}'`);
          vm.config[imp.key] = driveValue(target.volid, imp.drive, fs.statSync(target.file).size);
        }
        for (const nd of newDisks) {
          const target = allocate(nd.storage);
          fs.mkdirSync(path.dirname(target.file), { recursive: true });
          created.push(target.file);
          fs.writeFileSync(target.file, "");
          fs.truncateSync(target.file, nd.sizeGiB * 1024 ** 3);
          vm.config[nd.key] = driveValue(target.volid, nd.drive, nd.sizeGiB * 1024 ** 3);
        }
        vm.lock = undefined;
        if (parseBoolean(p.start ?? "0") === "1") await this.launch(vm, t);
      },
      async () => {
        // qemu-server create_vm: on error the disks and the config are removed again
        for (const f of created) fs.rmSync(f, { force: true });
        this.vms.delete(vmid);
        fs.rmSync(vmDir, { recursive: true, force: true });
      },
    );
  }

  /** The file of an `import-from` source: a volid, or an absolute path. */
  private sourcePath(source: string): string {
    if (source.startsWith("/")) return source;
    try {
      return this.volumePath(source);
    } catch {
      // qemu-server $import_from_volid
      throw new Error(`could not get size of ${source}`);
    }
  }

  /**
   * Starts QEMU as qemu-server `config_to_command` would for what the emulator offers
   * (`-nodefaults`, `-boot menu=on,…`, the first virtio disk, `net0` as a virtio NIC on tap<vmid>i0 in the node's bridge, `smbios1`
   * with base64 fields decoded (`-smbios type=1,serial=…`), the serial port logged to a file
   * (standing in for `serial0: socket`)). infra/targets/local/qemu.ts builds the command line.
   */
  private async launch(vm: Vm, t: TaskContext): Promise<void> {
    const net = this.o.network;
    if (!net) throw new Error("emulator: no bridge network configured, VMs cannot start");
    const diskKey = Object.keys(vm.config).find((k) => DRIVE_KEY.test(k));
    if (!diskKey) throw new Error("emulator: the VM has no disk to boot");
    const disk = this.volumePath(parseVmOption(diskKey, vm.config[diskKey]).file);
    if (!vm.config.net0) throw new Error("emulator: VMs without net0 are not offered");
    const nic = parseVmOption("net0", vm.config.net0);
    if (nic.model !== "virtio") throw new Error("emulator: only virtio NICs are offered");
    // qemu-server PVE::Network::tap_plug
    if ((nic.bridge ?? "") !== net.bridge) throw new Error(`bridge '${nic.bridge}' does not exist`);
    let serial: string | undefined;
    if (vm.config.smbios1) {
      const s = parseVmOption("smbios1", vm.config.smbios1);
      if (s.serial !== undefined)
        serial = s.base64 === "1" ? Buffer.from(s.serial, "base64").toString("latin1") : s.serial;
    }
    vm.tap = await addTap(net, vm.vmid, 0);
    t.log(`starting VM ${vm.vmid} (tap ${vm.tap} on ${net.bridge})`);
    await launchQemu({
      ...vm.files,
      disk,
      accel: this.o.accel,
      memoryMb: Number(parseVmOption("memory", vm.config.memory ?? "512").current),
      netns: net.netns,
      net: { kind: "tap", mac: nic.macaddr.toLowerCase(), ifname: vm.tap },
      smbiosSerial: serial,
      // qemu-server config_to_command always asks SeaBIOS for its boot menu (minus the splash
      // image): "Press ESC for boot menu." and a pause before the guest boots.
      extraArgs: ["-boot", "menu=on,strict=on,reboot-timeout=1000"],
    });
    vm.startedAt = Date.now();
  }

  /** qemu-server `vm_start` as the `qmstart` task. */
  private startVm(c: RequestContext) {
    const vm = this.vm(c.params.vmid);
    return this.tasks.start("qmstart", String(vm.vmid), c.user, async (t) => {
      checkLock(vm);
      if (this.isRunning(vm)) throw new Error(`VM ${vm.vmid} already running`);
      await this.launch(vm, t);
    });
  }

  /** Hard stop (`vm_stop`), the `qmstop` task: QEMU quits, the tap goes. */
  private stopVm(c: RequestContext) {
    const vm = this.vm(c.params.vmid);
    return this.tasks.start("qmstop", String(vm.vmid), c.user, async () => {
      await this.halt(vm);
    });
  }

  private async halt(vm: Vm): Promise<void> {
    await stopQemu(vm.files);
    if (vm.tap && this.o.network) await removeTap(this.o.network, vm.tap);
    vm.tap = undefined;
    vm.startedAt = undefined;
  }

  /**
   * Destroy (`destroy_vm`): a running VM is refused synchronously; the `qmdestroy` task removes
   * the VM's disks (those in its config; with `destroy-unreferenced-disks` every volume owned by
   * the vmid) and its config.
   */
  private destroyVm(c: RequestContext) {
    const vm = this.vm(c.params.vmid);
    if (this.isRunning(vm)) throw die(`VM ${vm.vmid} is running - destroy failed`);
    return this.tasks.start("qmdestroy", String(vm.vmid), c.user, async (t) => {
      if (parseBoolean(c.params.skiplock ?? "0") !== "1") checkLock(vm);
      const referenced = Object.entries(vm.config)
        .filter(([k]) => DRIVE_KEY.test(k))
        .map(([k, v]) => parseVmOption(k, v).file);
      const owned = Object.keys(this.o.storages).flatMap((s) =>
        this.volumes(s).filter((v) => v.vmid === vm.vmid),
      );
      const unreferenced = parseBoolean(c.params["destroy-unreferenced-disks"] ?? "0") === "1";
      for (const v of owned)
        if (referenced.includes(v.volid) || unreferenced) {
          fs.rmSync(v.file);
          t.log(`Removed volume '${v.volid}'`);
        }
      const images = path.join(this.o.dir, "storage");
      for (const s of Object.keys(this.o.storages))
        fs.rmSync(path.join(images, s, "images", String(vm.vmid)), {
          recursive: true,
          force: true,
        });
      this.vms.delete(vm.vmid);
      fs.rmSync(vm.dir, { recursive: true, force: true });
    });
  }

  /** vncwebsocket's ticket check; `{port}` when the ticket is good (qemu-server Qemu.pm). */
  checkConsoleTicket(params: Record<string, string>) {
    const vm = this.vm(params.vmid);
    const error = this.consoles.check(vm.vmid, Number(params.port), params.vncticket);
    if (error) throw die(error);
    return { port: Number(params.port) };
  }

  /** What the serial console of `vmid` reads: whether QEMU runs, and its serial log. */
  consoleTarget(vmid: number) {
    const vm = this.vm(vmid);
    return { vmid, running: () => this.isRunning(vm), serialLog: vm.files.serialLog };
  }

  /** The address the node's dnsmasq leased to a VM's net0, if any. */
  leasedAddress(vmid: number): string | undefined {
    const vm = this.vms.get(vmid);
    if (!vm?.config.net0 || !this.o.network) return undefined;
    const mac = parseVmOption("net0", vm.config.net0).macaddr;
    return leasedAddress(this.o.network, mac);
  }

  /** Stops every VM (for the emulator's stop). */
  async haltAll(): Promise<void> {
    this.consoles.closeAll();
    for (const vm of this.vms.values()) await this.halt(vm);
  }
}

/** pve-guest-common `PVE::AbstractConfig::check_lock` (a VM being created is locked). */
function checkLock(vm: Vm): void {
  if (vm.lock) throw new Error(`VM is locked (${vm.lock})`);
}

/**
 * pve-storage `PVE::Storage::Plugin::file_size_info` with `$untrusted`: `qemu-img info` must
 * read the file in the format its name says, with no backing file and one vmdk extent.
 */
async function checkUntrustedImage(file: string, format: string): Promise<void> {
  let info: {
    "backing-filename"?: string;
    "format-specific"?: { type: string; data?: { extents?: unknown[] } };
    children?: unknown[];
  };
  try {
    info = JSON.parse(await run(["qemu-img", "info", "--output=json", "-f", format, file]));
  } catch {
    throw new Error("failed to query file information with qemu-img");
  }
  const specific = info["format-specific"];
  if (
    specific?.type === "vmdk" &&
    ((specific.data?.extents?.length ?? 0) > 1 || (info.children?.length ?? 0) > 1)
  )
    throw new Error(`${file}: multiple children or extents are not allowed!`);
  if (info["backing-filename"])
    throw new Error(`backing file not allowed for untrusted image '${file}'!`);
}
