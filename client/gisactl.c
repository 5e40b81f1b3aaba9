/* SPDX-License-Identifier: MIT */
/*
 * gisactl: the client of gisad, and the offline tool for snapshot files.
 *
 *   gisactl [--socket PATH] [--json] NOUN VERB [ARGS]
 *
 * Everything a user can type is in two tables below: opt_defs[] (every
 * option, once) and cmd_table[] (every command, one row each).  main()
 * finds the row, parses its options and operands against it, connects to
 * gisad when the row says so, and runs the handler; usage errors, help and
 * completion data are all printed from the rows, so they cannot drift from
 * what the parser accepts.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <gisa/json.h>
#include <gisa/snapshot.h>

#include "gisactl.h"

#ifndef GISACTL_VERSION
#define GISACTL_VERSION "unknown"
#endif

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Completion of --target-caps: every valid spelling in canonical order. */
#define TARGET_WORDS \
	"classic classic,gisa classic,ais classic,gisa,ais " \
	"newest newest,gisa newest,ais newest,gisa,ais"

const struct opt_def opt_defs[OPT_NR] = {
	[OPT_OUTPUT] = { "output", 'o', "FILE", "@file",
		"write the result to FILE (`-' = standard output, the default); a file is "
		"replaced only once the result is complete" },
	[OPT_COMPACT] = { "compact", 0, NULL, NULL,
		"JSON without any whitespace (default: indented, one element per line)" },
	[OPT_LEVEL] = { "level", 0, "N", "@none",
		"writing a snapshot: the zstd compression level, 1 to 22 (default 1); "
		"route trigger: the interrupt line's level (default 1)" },
	[OPT_STORED] = { "stored", 0, NULL, NULL,
		"store the state uncompressed" },
	[OPT_TARGET_CAPS] = { "target-caps", 0, "CAPS", TARGET_WORDS,
		"the destination: a profile (classic or newest), then gisa and/or ais, "
		"comma-separated (e.g. classic,gisa,ais)" },
	[OPT_FROM] = { "from", 0, "FORMAT", "kvm qemu snapshot json",
		"the input's form: kvm, qemu, snapshot or json" },
	[OPT_TO] = { "to", 0, "FORMAT", "kvm qemu snapshot json",
		"the output's form: kvm, qemu, snapshot or json" },
	[OPT_ORDER] = { "order", 0, "ORDER", "be le",
		"byte order, be or le: of a KVM buffer (default: be when reading one, the "
		"VM's abi_order when writing one), or of a new VM's FLIC and route buffers "
		"(vm create; default be)" },
	[OPT_AIS] = { "ais", 0, "FILE", "@file",
		"the two AISM_ALL bytes (simm, nimm) of a KVM conversion: read with "
		"--from kvm, written with --to kvm" },
	[OPT_QEMU_AIS] = { "qemu-ais", 0, "FILE", "@file",
		"the \"s390-flic/ais\" subsection payload (simm, nimm) of a QEMU conversion: "
		"read with --from qemu (without it: no subsection), written with --to qemu" },
	[OPT_VCPUS] = { "vcpus", 0, "N", "@none",
		"vcpus of the VM created, or built from KVM or QEMU payloads, 0 to 255 "
		"(default 0)" },
	[OPT_CHECK] = { "check", 'c', NULL, NULL,
		"compare each result with its \"expect\" and stop at the first mismatch" },
	[OPT_NO_STATE] = { "no-state", 'n', NULL, NULL,
		"do not print the final state" },
	[OPT_MAX_RECORDS] = { "max-records", 'm', "N", "@none",
		"records printed per floating list in a state, 0 to 1000000 (default 256)" },
	[OPT_UUID] = { "uuid", 0, "UUID", "@none",
		"the VM's UUID, xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx (default: a random one)" },
	[OPT_PROFILE] = { "profile", 0, "PROFILE", "classic newest",
		"the kernel profile to model, classic or newest (default classic)" },
	[OPT_CAPS] = { "caps", 0, "CAPS", "none gisa ais gisa,ais",
		"the VM's capabilities: gisa and/or ais, comma-separated, or none (default "
		"none)" },
	[OPT_MEM_CAP] = { "mem-cap", 0, "BYTES", "@none",
		"guest memory the VM may back, in bytes (default: the engine's, 64 MiB)" },
	[OPT_MEMSLOT] = { "memslot", 0, "SLOT:GPA:SIZE", "@none",
		"a memslot of the new VM (numbers decimal or 0x hex); may be repeated", true },
	[OPT_NO_FLIC] = { "no-flic", 0, NULL, NULL,
		"create the VM without its FLIC device" },
	[OPT_ATTR] = { "attr", 0, "N", "@none",
		"kvm_device_attr.attr (default: the buffer's length, which GET_ALL_IRQS, "
		"ENQUEUE, AISM_ALL and CLEAR_IO_IRQ take there)" },
	[OPT_LEN] = { "len", 0, "BYTES", "@none",
		"the size of the buffer to fetch into (default: as much as a reply carries, "
		"1044432 bytes for records)" },
	[OPT_FLAGS] = { "flags", 0, "N", "@none",
		"flags of the call: kvm_device_attr.flags, or KVM_SET_GSI_ROUTING's flags "
		"(default 0)" },
	[OPT_DATA] = { "data", 0, "HEX", "@none",
		"the buffer's bytes, in hex (raw: in the VM's byte order)" },
	[OPT_DATA_FILE] = { "data-file", 0, "FILE", "@file",
		"read the buffer's bytes from FILE (`-' = standard input)" },
	[OPT_FAULT] = { "fault", 0, "OFF:LEN", "@none",
		"model an unreadable range of LEN bytes at offset OFF of the buffer" },
	[OPT_UNMAPPED] = { "unmapped", 0, NULL, NULL,
		"model a buffer address that is not mapped at all" },
	[OPT_HEX] = { "hex", 0, "HEX", "@none",
		"the records in hex on the command line instead of a FILE" },
	[OPT_ISC] = { "isc", 0, "N", "@none",
		"the adapter's interruption subclass, 0 to 255 (not range-checked by KVM; "
		"default 0)" },
	[OPT_MASKABLE] = { "maskable", 0, NULL, NULL, "the adapter may be masked" },
	[OPT_SWAP] = { "swap", 0, NULL, NULL,
		"the adapter's indicator bits use MSB0 numbering" },
	[OPT_SUPPRESSIBLE] = { "suppressible", 0, NULL, NULL,
		"the adapter's interrupts are subject to AIS (flags bit 0x01)" },
	[OPT_ROUTE] = { "route", 0, "GSI:IND:INDOFF:SUM:SUMOFF:ADAPTER", "@none",
		"an adapter route: GSI, indicator address, indicator bit offset, summary "
		"address, summary bit offset, adapter id; may be repeated", true },
	[OPT_PSW_MASK] = { "psw-mask", 0, "X", "@none", "the vcpu's PSW mask" },
	[OPT_CR0] = { "cr0", 0, "X", "@none", "the vcpu's control register 0" },
	[OPT_CR6] = { "cr6", 0, "X", "@none", "the vcpu's control register 6" },
	[OPT_CR14] = { "cr14", 0, "X", "@none", "the vcpu's control register 14" },
	[OPT_RUN] = { "run", 0, "STATE", "running idle stopped",
		"the vcpu's run state: running, idle or stopped" },
	[OPT_GPR1] = { "gpr1", 0, "X", "@none",
		"general register 1 of TEST SUBCHANNEL: the subchannel id and number "
		"(default 0, which dequeues nothing)" },
	[OPT_IN_SIE] = { "in-sie", 0, NULL, NULL,
		"a vcpu of the VM is in SIE when the interruption arrives" },
	[OPT_MAX] = { "max", 0, "N", "@none",
		"take at most N events, 1 to 1024 (default: all)" },
	[OPT_COUNT] = { "count", 0, "N", "@none",
		"stop after N events (default: run until interrupted)" },
	[OPT_ONLY] = { "only", 0, "KIND", "kicks jobs",
		"only kicks (and GISA wake-ups) or only job changes" },
	[OPT_REPLACE] = { "replace", 0, NULL, NULL,
		"replace the VM if it exists (default: refuse)" },
	[OPT_DOWNTIME] = { "downtime", 0, "MS", "@none",
		"the longest the VM may stay frozen at the switchover, 1 to 600000 ms "
		"(default: gisad.conf's)" },
	[OPT_ALLOW_LOSSY] = { "allow-lossy", 0, NULL, NULL,
		"migrate when the destination can hold the state only lossily (default: "
		"exact only)" },
	[OPT_NAME] = { "name", 0, "NEW", "@none",
		"the VM's name at the destination (default: the same)" },
	[OPT_COMPRESSION] = { "compression", 0, "ALGO", "none zstd",
		"how the state travels: none, zstd, or zstd:LEVEL with LEVEL 1 to 19 "
		"(default: gisad.conf's)" },
	[OPT_MAX_ROUNDS] = { "max-rounds", 0, "N", "@none",
		"precopy rounds at most before the switchover, 1 to 1000 (default: "
		"gisad.conf's)" },
	[OPT_STALL_TIMEOUT] = { "stall-timeout", 0, "MS", "@none",
		"give up when the destination acknowledges nothing for MS, 100 to 3600000 "
		"ms (default: gisad.conf's)" },
	[OPT_DETACH] = { "detach", 0, NULL, NULL,
		"print the new job and return instead of following the migration" },
};

#define EXITS_DIFF "0 equal, 1 different, 2 error"

/*
 * Every command.  Rows of one noun stay together (help lists them in this
 * order).  A command that talks to gisad sets CMD_NEEDS_DAEMON: main
 * connects before its handler runs.
 */
const struct cmd_entry cmd_table[] = {
	{
		.noun = "snapshot", .verb = "info",
		.usage = "FILE",
		.help = "show a snapshot's container and header",
		.long_help =
			"Reads the container and the header of FILE without decompressing or\n"
			"decoding the state: format and minimum reader versions, flags and\n"
			"compression, the header, state and payload lengths, the stored state\n"
			"digest (not verified here: see `snapshot verify'), the profile and\n"
			"capabilities the state requires of its destination, and the descriptive\n"
			"fields: VM name and UUID, creation time, producer.",
		.exits = "0 a well-formed container and header, "
			 "2 FILE unreadable or not a snapshot",
		.complete = "@file",
		.min_args = 1, .max_args = 1,
		.fn = cmd_snapshot_info,
	},
	{
		.noun = "snapshot", .verb = "verify",
		.usage = "FILE",
		.help = "check a snapshot completely, down to building its VM",
		.long_help =
			"Decodes FILE completely (container, header check, decompression, state\n"
			"digest, the State message, the image's structural checks) and builds a\n"
			"VM from it on a private engine host, which checks every invariant that\n"
			"needs a VM.  Prints `valid' with the state digest, or `invalid' with the\n"
			"first problem found: the field, the index and the offending value.",
		.exits = "0 valid, 1 invalid, 2 FILE unreadable",
		.complete = "@file",
		.min_args = 1, .max_args = 1,
		.fn = cmd_snapshot_verify,
	},
	{
		.noun = "snapshot", .verb = "decode",
		.usage = "FILE [-o OUT.json] [--compact]",
		.help = "write a snapshot as JSON (schema gisa.v1)",
		.long_help =
			"Writes the state of FILE and its descriptive header fields (name, UUID,\n"
			"creation time, producer) as a JSON document of schema gisa.v1\n"
			"(docs/SNAPSHOT-JSON.md), indented unless --compact.  `snapshot encode'\n"
			"reads it back; the round trip is lossless.  With --json and no -o, the\n"
			"document is the \"document\" member of gisactl's output.",
		.complete = "@file",
		.opts = OPT_BIT(OPT_OUTPUT) | OPT_BIT(OPT_COMPACT),
		.min_args = 1, .max_args = 1,
		.fn = cmd_snapshot_decode,
	},
	{
		.noun = "snapshot", .verb = "encode",
		.usage = "JSON [-o OUT.gsnap] [--level N | --stored]",
		.help = "write a JSON document (schema gisa.v1) as a snapshot",
		.long_help =
			"Reads a JSON document of schema gisa.v1 (docs/SNAPSHOT-JSON.md), checks\n"
			"it as hostile input, and writes it as a snapshot file, zstd-compressed\n"
			"(level 1 unless --level) or stored.  Its \"meta\" member becomes the\n"
			"header's name, UUID, creation time and producer.  A snapshot is binary:\n"
			"it is not written to a terminal.",
		.complete = "@file",
		.opts = OPT_BIT(OPT_OUTPUT) | OPT_BIT(OPT_LEVEL) | OPT_BIT(OPT_STORED),
		.min_args = 1, .max_args = 1,
		.fn = cmd_snapshot_encode,
	},
	{
		.noun = "snapshot", .verb = "digest",
		.usage = "FILE",
		.help = "print the state's SHA-256 digest",
		.long_help =
			"Decodes FILE and prints the SHA-256 digest of its state's canonical\n"
			"encoding, in lowercase hex: the digest `vm digest' prints for a VM in\n"
			"the same state.  It is computed from the decoded state, not copied\n"
			"from the file, so fields a newer writer added and this reader does not\n"
			"know are left out, as they are from every state this reader holds.",
		.complete = "@file",
		.min_args = 1, .max_args = 1,
		.fn = cmd_snapshot_digest,
	},
	{
		.noun = "snapshot", .verb = "check",
		.usage = "FILE --target-caps CAPS",
		.help = "say whether a snapshot can be restored on a destination",
		.long_help =
			"Compares the state in FILE with a destination's profile and capabilities\n"
			"(--target-caps, required) and gives the verdict: exact (the restored VM\n"
			"behaves identically), lossy (it can be restored, with every change\n"
			"listed) or impossible (some state cannot exist there; every reason\n"
			"listed).  Each change names its kind, the section, key, index and value\n"
			"it concerns, and what happens.",
		.exits = "0 exact, 1 lossy, 2 impossible or an error",
		.complete = "@file",
		.opts = OPT_BIT(OPT_TARGET_CAPS),
		.min_args = 1, .max_args = 1,
		.fn = cmd_snapshot_check,
	},
	{
		.noun = "snapshot", .verb = "convert",
		.usage = "--from FORMAT --to FORMAT [-o OUT] [--order be|le]\n"
			 "    [--ais FILE | --qemu-ais FILE] [--target-caps CAPS] [--vcpus N]\n"
			 "    [--level N | --stored] [--compact] IN",
		.help = "convert between snapshots, JSON, KVM buffers and QEMU payloads",
		.long_help =
			"Reads IN in one form and writes it in another.  The forms:\n"
			"  snapshot  a snapshot file\n"
			"  json      a JSON document of schema gisa.v1\n"
			"  kvm       a FLIC GET_ALL_IRQS buffer: 72-byte records in byte order\n"
			"            --order; the two AISM_ALL bytes travel in the --ais file\n"
			"  qemu      the payload of the \"irqs\" field of QEMU's s390-flic\n"
			"            section (a big-endian count, then the records); the\n"
			"            \"s390-flic/ais\" subsection payload travels in the\n"
			"            --qemu-ais file\n"
			"KVM and QEMU forms hold only the floating interrupts, the GISA IPM and\n"
			"the AIS masks: writing them drops the rest (adapters, routes, memory,\n"
			"vcpus, GISA alert state, kick cursor), and the summary lists what was\n"
			"dropped.  Reading them builds a VM with the destination's configuration\n"
			"(--target-caps, required, and --vcpus) and enqueues the records as KVM\n"
			"would, so adapter interrupts coalesce into a GISA and service signals\n"
			"merge; the VM's abi_order is the buffer's byte order.  A VM with the AIS\n"
			"facility needs --ais (or --qemu-ais) when written as KVM or QEMU.\n"
			"The two outputs, -o and --ais (or --qemu-ais), are written in full\n"
			"before either replaces its file, and if the second cannot replace its\n"
			"file the first is put back (where the file system can exchange names:\n"
			"ext4, XFS, Btrfs, tmpfs).  They must be two different files (by\n"
			"name, link or inode), at most one of them standard output, and with\n"
			"--json neither: standard output carries the JSON document.",
		.complete = "@file",
		.opts = OPT_BIT(OPT_FROM) | OPT_BIT(OPT_TO) | OPT_BIT(OPT_OUTPUT) |
			OPT_BIT(OPT_ORDER) | OPT_BIT(OPT_AIS) | OPT_BIT(OPT_QEMU_AIS) |
			OPT_BIT(OPT_TARGET_CAPS) | OPT_BIT(OPT_VCPUS) | OPT_BIT(OPT_LEVEL) |
			OPT_BIT(OPT_STORED) | OPT_BIT(OPT_COMPACT),
		.min_args = 1, .max_args = 1,
		.fn = cmd_snapshot_convert,
	},
	{
		.noun = "snapshot", .verb = "export",
		.usage = "NAME FILE [--level N | --stored]",
		.help = "write a VM's state to a snapshot file",
		.long_help =
			"Asks gisad for the snapshot of VM NAME.  The file travels as a passed\n"
			"descriptor, never as a path: gisactl creates a temporary file beside\n"
			"FILE, gisad writes into it, and it replaces FILE only once complete (`-'\n"
			"= standard output, through an unlinked temporary file).  The export is a\n"
			"job of gisad (`job status').  Prints the state digest, the one `vm\n"
			"digest' and `snapshot digest FILE' print.",
		.complete = "@file",
		.opts = OPT_BIT(OPT_LEVEL) | OPT_BIT(OPT_STORED),
		.min_args = 2, .max_args = 2,
		.flags = CMD_NEEDS_DAEMON,
		.fn = cmd_snapshot_export,
	},
	{
		.noun = "snapshot", .verb = "import",
		.usage = "NAME FILE [--replace]",
		.help = "create a VM from a snapshot file (or replace one)",
		.long_help =
			"Hands FILE (`-' = standard input, spooled through an unlinked temporary\n"
			"file) to gisad as a passed descriptor; gisad decodes and validates it\n"
			"and builds VM NAME from it, all or nothing.  A VM of that name is\n"
			"replaced only with --replace. gisad refuses a snapshot needing a profile\n"
			"or capability its host does not offer.",
		.complete = "@file",
		.opts = OPT_BIT(OPT_REPLACE),
		.min_args = 2, .max_args = 2,
		.flags = CMD_NEEDS_DAEMON,
		.fn = cmd_snapshot_import,
	},
	{
		.noun = "diff",
		.usage = "A B",
		.help = "compare two states section by section",
		.long_help =
			"Compares the states of A and B, each a snapshot file, `vm:NAME' (a VM\n"
			"of the local gisad) or `tls://HOST:PORT/NAME' (VM NAME of the gisad at\n"
			"HOST:PORT, fetched by the local gisad over TLS with its own identity;\n"
			"both need the daemon), and lists every difference grouped by section\n"
			"(config, float, ais, lists, gisa, adapters, routes, memslots, pages,\n"
			"vcpus): what changed, was removed (only in A), added (only in B) or\n"
			"moved within a list.  Equal state digests mean equal states, and\n"
			"nothing is decoded then.  Equal states print nothing (as diff(1)).",
		.exits = EXITS_DIFF,
		.complete = "@file",
		.min_args = 2, .max_args = 2,
		.fn = cmd_diff,
	},
	{
		.noun = "scenario", .verb = "run",
		.usage = "FILE [--check] [--no-state] [--max-records N]",
		.help = "run a scenario file against an in-process engine",
		.long_help =
			"Runs the engine operations of FILE (`-' = standard input), one JSON\n"
			"object per line (docs/SCENARIOS.md), on a private engine host, and\n"
			"prints one JSON result line per operation, then the final state of\n"
			"every VM.  No daemon is involved.",
		.exits = "0 every line ran (and matched), 1 --check: a mismatch, "
			 "2 usage or input error",
		.complete = "@file",
		.opts = OPT_BIT(OPT_CHECK) | OPT_BIT(OPT_NO_STATE) | OPT_BIT(OPT_MAX_RECORDS),
		.min_args = 1, .max_args = 1,
		.fn = cmd_scenario_run,
	},
	{
		.noun = "ping",
		.usage = "",
		.help = "check that gisad answers; show its version and host capabilities",
		.long_help =
			"Sends gisad's ping verb and prints its answer: the daemon's version, the\n"
			"largest datagram it takes, the profiles and capabilities its host offers\n"
			"(gisad.conf), and its uptime.",
		.min_args = 0, .max_args = 0,
		.flags = CMD_NEEDS_DAEMON,
		.fn = cmd_ping,
	},
	{
		.noun = "host", .verb = "info",
		.usage = "",
		.help = "show the engine host: NISC, GIB alert list, VM count",
		.long_help =
			"Prints the state of gisad's engine host: the NISC GISA alerts arrive on,\n"
			"the GIB alert list (origin and length), the GAL interruptions so far,\n"
			"and the number of VMs.",
		.min_args = 0, .max_args = 0,
		.flags = CMD_NEEDS_DAEMON,
		.fn = cmd_host_info,
	},
	{
		.noun = "vm", .verb = "create",
		.usage = "NAME [--uuid U] [--profile P] [--caps CAPS] [--vcpus N] "
			 "[--mem-cap BYTES] [--memslot SLOT:GPA:SIZE]... [--no-flic] [--order O]",
		.help = "create a VM",
		.long_help =
			"Creates VM NAME ([A-Za-z0-9_.-], 1 to 64, not starting with `.') with a\n"
			"FLIC device (unless --no-flic) and the memslots given, and prints it as\n"
			"`vm info' does. gisad refuses a profile or capability its host does not\n"
			"offer; a memslot it refuses leaves nothing created.",
		.opts = OPT_BIT(OPT_UUID) | OPT_BIT(OPT_PROFILE) | OPT_BIT(OPT_CAPS) |
			OPT_BIT(OPT_VCPUS) | OPT_BIT(OPT_MEM_CAP) | OPT_BIT(OPT_MEMSLOT) |
			OPT_BIT(OPT_NO_FLIC) | OPT_BIT(OPT_ORDER),
		.min_args = 1, .max_args = 1,
		.flags = CMD_NEEDS_DAEMON,
		.fn = cmd_vm_create,
	},
	{
		.noun = "vm", .verb = "destroy",
		.usage = "NAME",
		.help = "destroy a VM and its current checkpoint",
		.long_help =
			"Destroys VM NAME.  Its current checkpoint goes too, so that a restart of\n"
			"gisad does not bring it back; named checkpoints stay.",
		.min_args = 1, .max_args = 1,
		.flags = CMD_NEEDS_DAEMON,
		.fn = cmd_vm_destroy,
	},
	{
		.noun = "vm", .verb = "list",
		.usage = "",
		.help = "list the VMs",
		.long_help =
			"Lists gisad's VMs by name: name, UUID, profile, capabilities, vcpus\n"
			"and migration state (none, outgoing, frozen, in-doubt or migrated)\n"
			"with the destination.  gisad answers a long listing in pages, asked\n"
			"for one after the other: a VM created or destroyed meanwhile may be\n"
			"missing, or shown although gone.",
		.min_args = 0, .max_args = 0,
		.flags = CMD_NEEDS_DAEMON,
		.fn = cmd_vm_list,
	},
	{
		.noun = "vm", .verb = "info",
		.usage = "NAME",
		.help = "show a VM's configuration, interrupt state and digest",
		.long_help =
			"Prints VM NAME's configuration (UUID, profile, capabilities, vcpus, byte\n"
			"order, memory), its floating-interrupt state (pending count and list\n"
			"lengths, service signal, machine check, AIS masks, GISA), its adapters,\n"
			"routes and memslots, its state digest, and its migration state (none,\n"
			"outgoing, frozen, in-doubt or migrated) with the destination.",
		.min_args = 1, .max_args = 1,
		.flags = CMD_NEEDS_DAEMON,
		.fn = cmd_vm_info,
	},
	{
		.noun = "vm", .verb = "digest",
		.usage = "NAME",
		.help = "print a VM's state digest",
		.long_help =
			"Prints the SHA-256 digest of VM NAME's canonical state, in lowercase\n"
			"hex: what `snapshot digest' prints for a snapshot of the same state.",
		.min_args = 1, .max_args = 1,
		.flags = CMD_NEEDS_DAEMON,
		.fn = cmd_vm_digest,
	},
	{
		.noun = "flic", .verb = "create",
		.usage = "NAME",
		.help = "create the VM's FLIC device (KVM_CREATE_DEVICE)",
		.long_help =
			"Creates VM NAME's FLIC device; gisad refuses a second one (-EINVAL).",
		.min_args = 1, .max_args = 1,
		.flags = CMD_NEEDS_DAEMON,
		.fn = cmd_flic_create,
	},
	{
		.noun = "flic", .verb = "destroy",
		.usage = "NAME",
		.help = "forget the VM's FLIC device",
		.long_help =
			"Removes VM NAME's FLIC device; its attribute calls then fail with\n"
			"-EBADF.",
		.min_args = 1, .max_args = 1,
		.flags = CMD_NEEDS_DAEMON,
		.fn = cmd_flic_destroy,
	},
	{
		.noun = "flic", .verb = "has",
		.usage = "NAME GROUP [--attr N] [--flags N]",
		.help = "KVM_HAS_DEVICE_ATTR on the VM's FLIC",
		.long_help =
			"Asks whether the FLIC of VM NAME has attribute group GROUP, a number or\n"
			"one of: get-all-irqs enqueue clear-irqs apf-enable apf-disable-wait\n"
			"adapter-register adapter-modify clear-io-irq aism airq-inject\n"
			"aism-all.  Prints the call's return value.",
		.opts = OPT_BIT(OPT_ATTR) | OPT_BIT(OPT_FLAGS),
		.min_args = 2, .max_args = 2,
		.flags = CMD_NEEDS_DAEMON,
		.fn = cmd_flic_has,
	},
	{
		.noun = "flic", .verb = "get",
		.usage = "NAME GROUP [--attr N] [--len BYTES] [--data HEX | --data-file FILE] "
			 "[--fault OFF:LEN] [--unmapped] [-o FILE]",
		.help = "KVM_GET_DEVICE_ATTR on the VM's FLIC",
		.long_help =
			"Calls GET on group GROUP (see `flic has') of VM NAME's FLIC with a\n"
			"buffer of --len bytes (at least the --data given, zero-padded) and\n"
			"prints the return value and the buffer as the call left it, in hex (with\n"
			"-o, the raw buffer goes to FILE).  CLASSIC GET_ALL_IRQS moves GISA IPM\n"
			"bits into the records it returns: this can change state.",
		.opts = OPT_BIT(OPT_ATTR) | OPT_BIT(OPT_LEN) | OPT_BIT(OPT_FLAGS) |
			OPT_BIT(OPT_DATA) | OPT_BIT(OPT_DATA_FILE) | OPT_BIT(OPT_FAULT) |
			OPT_BIT(OPT_UNMAPPED) | OPT_BIT(OPT_OUTPUT),
		.min_args = 2, .max_args = 2,
		.flags = CMD_NEEDS_DAEMON,
		.fn = cmd_flic_get,
	},
	{
		.noun = "flic", .verb = "set",
		.usage = "NAME GROUP [--attr N] [--flags N] [--data HEX | --data-file FILE] "
			 "[--fault OFF:LEN] [--unmapped]",
		.help = "KVM_SET_DEVICE_ATTR on the VM's FLIC",
		.long_help =
			"Calls SET on group GROUP (see `flic has') of VM NAME's FLIC with the\n"
			"buffer given (raw bytes in the VM's byte order) and prints the return\n"
			"value.  The nouns irq, adapter, ais, airq and apf spell the common calls\n"
			"without raw bytes.",
		.opts = OPT_BIT(OPT_ATTR) | OPT_BIT(OPT_FLAGS) | OPT_BIT(OPT_DATA) |
			OPT_BIT(OPT_DATA_FILE) | OPT_BIT(OPT_FAULT) | OPT_BIT(OPT_UNMAPPED),
		.min_args = 2, .max_args = 2,
		.flags = CMD_NEEDS_DAEMON,
		.fn = cmd_flic_set,
	},
	{
		.noun = "irq", .verb = "inject",
		.usage = "NAME [FILE | --hex HEX]",
		.help = "inject raw 72-byte kvm_s390_irq records (FLIC ENQUEUE)",
		.long_help =
			"Injects the records of FILE (`-' = standard input), or of --hex, into VM\n"
			"NAME: an array of 72-byte struct kvm_s390_irq in the VM's byte order\n"
			"(big-endian unless created --order le), as one ENQUEUE would, in order,\n"
			"stopping at the first error without rollback.  They travel in requests\n"
			"of at most 256 KiB.  Prints how many went in.",
		.complete = "@file",
		.opts = OPT_BIT(OPT_HEX),
		.min_args = 1, .max_args = 2,
		.flags = CMD_NEEDS_DAEMON,
		.fn = cmd_irq_inject,
	},
	{
		.noun = "irq", .verb = "get",
		.usage = "NAME [--len BYTES]",
		.help = "list the pending floating interrupts (FLIC GET_ALL_IRQS)",
		.long_help =
			"Fetches VM NAME's floating interrupts with GET_ALL_IRQS into a buffer of\n"
			"--len bytes (default: as much as a reply carries, 1 MiB less 4 KiB, or\n"
			"less where net.core.wmem_max bounds gisad's send buffer; see ping) and\n"
			"prints each record decoded and in hex.  A buffer too small fails with\n"
			"-ENOMEM, as in KVM.  CLASSIC moves pending GISA IPM bits into adapter\n"
			"records here, clearing them.",
		.opts = OPT_BIT(OPT_LEN),
		.min_args = 1, .max_args = 1,
		.flags = CMD_NEEDS_DAEMON,
		.fn = cmd_irq_get,
	},
	{
		.noun = "irq", .verb = "clear",
		.usage = "NAME",
		.help = "drop every floating interrupt (FLIC CLEAR_IRQS)",
		.long_help =
			"Empties VM NAME's floating lists and clears its GISA IPM;  AIS masks,\n"
			"adapters and routes stay.",
		.min_args = 1, .max_args = 1,
		.flags = CMD_NEEDS_DAEMON,
		.fn = cmd_irq_clear,
	},
	{
		.noun = "irq", .verb = "clear-io",
		.usage = "NAME SCHID",
		.help = "drop one I/O interrupt of a subchannel (FLIC CLEAR_IO_IRQ)",
		.long_help =
			"Removes the first pending I/O interrupt of subchannel SCHID (the\n"
			"subchannel id in the high half, its number in the low half) from VM\n"
			"NAME's ISC lists.",
		.min_args = 2, .max_args = 2,
		.flags = CMD_NEEDS_DAEMON,
		.fn = cmd_irq_clear_io,
	},
	{
		.noun = "irq", .verb = "interrupt",
		.usage = "NAME TYPE [PARM [PARM64]]",
		.help = "inject with the legacy KVM_S390_INTERRUPT ioctl",
		.long_help =
			"Injects one floating interrupt of TYPE (a kvm_s390_interrupt type, e.g.\n"
			"0xffff2401 service) with PARM and PARM64 (default 0) into VM NAME.",
		.min_args = 2, .max_args = 4,
		.flags = CMD_NEEDS_DAEMON,
		.fn = cmd_irq_interrupt,
	},
	{
		.noun = "adapter", .verb = "register",
		.usage = "NAME ID [--isc N] [--maskable] [--swap] [--suppressible]",
		.help = "register an I/O adapter (FLIC ADAPTER_REGISTER)",
		.long_help =
			"Registers adapter ID (0 to 63) of VM NAME.",
		.opts = OPT_BIT(OPT_ISC) | OPT_BIT(OPT_MASKABLE) | OPT_BIT(OPT_SWAP) |
			OPT_BIT(OPT_SUPPRESSIBLE),
		.min_args = 2, .max_args = 2,
		.flags = CMD_NEEDS_DAEMON,
		.fn = cmd_adapter_register,
	},
	{
		.noun = "adapter", .verb = "modify",
		.usage = "NAME ID mask|unmask|map ADDR|unmap ADDR",
		.help = "mask, unmask, map or unmap an adapter (FLIC ADAPTER_MODIFY)",
		.long_help =
			"Masks or unmasks adapter ID of VM NAME (a maskable one), or maps or\n"
			"unmaps the guest page at ADDR for it (NEWEST keeps a map list;  CLASSIC\n"
			"ignores both).",
		.min_args = 3, .max_args = 4,
		.flags = CMD_NEEDS_DAEMON,
		.fn = cmd_adapter_modify,
	},
	{
		.noun = "ais", .verb = "set",
		.usage = "NAME ISC all|single",
		.help = "set an ISC's adapter-interruption suppression mode (FLIC AISM)",
		.long_help =
			"Sets ISC's AIS mode of VM NAME: all (no suppression) or single (one\n"
			"interruption, then suppressed until set again).  Needs the AIS\n"
			"capability.",
		.min_args = 3, .max_args = 3,
		.flags = CMD_NEEDS_DAEMON,
		.fn = cmd_ais_set,
	},
	{
		.noun = "ais", .verb = "get",
		.usage = "NAME",
		.help = "show the AIS masks (FLIC AISM_ALL get)",
		.long_help =
			"Prints VM NAME's simm and nimm masks (MSB0 per ISC).",
		.min_args = 1, .max_args = 1,
		.flags = CMD_NEEDS_DAEMON,
		.fn = cmd_ais_get,
	},
	{
		.noun = "ais", .verb = "set-all",
		.usage = "NAME SIMM NIMM",
		.help = "set both AIS masks verbatim (FLIC AISM_ALL set)",
		.long_help =
			"Sets VM NAME's simm and nimm masks (0 to 255 each), as a restore does.",
		.min_args = 3, .max_args = 3,
		.flags = CMD_NEEDS_DAEMON,
		.fn = cmd_ais_set_all,
	},
	{
		.noun = "airq", .verb = "inject",
		.usage = "NAME ADAPTER",
		.help = "inject an adapter interruption (FLIC AIRQ_INJECT)",
		.long_help =
			"Injects an adapter interruption for adapter ADAPTER of VM NAME, subject\n"
			"to AIS, whether or not the adapter is masked.",
		.min_args = 2, .max_args = 2,
		.flags = CMD_NEEDS_DAEMON,
		.fn = cmd_airq_inject,
	},
	{
		.noun = "apf", .verb = "enable",
		.usage = "NAME",
		.help = "enable async page faults (FLIC APF_ENABLE)",
		.long_help =
			"Enables guest async page faults on VM NAME.",
		.min_args = 1, .max_args = 1,
		.flags = CMD_NEEDS_DAEMON,
		.fn = cmd_apf_enable,
	},
	{
		.noun = "apf", .verb = "disable-wait",
		.usage = "NAME",
		.help = "disable async page faults (FLIC APF_DISABLE_WAIT)",
		.long_help =
			"Disables guest async page faults on VM NAME.",
		.min_args = 1, .max_args = 1,
		.flags = CMD_NEEDS_DAEMON,
		.fn = cmd_apf_disable_wait,
	},
	{
		.noun = "route", .verb = "set",
		.usage = "NAME [FILE.json | --route GSI:IND:INDOFF:SUM:SUMOFF:ADAPTER ...] "
			 "[--flags N]",
		.help = "replace the VM's GSI routing table (KVM_SET_GSI_ROUTING)",
		.long_help =
			"Replaces VM NAME's whole routing table with the routes given, all or\n"
			"nothing.  FILE.json (`-' = standard input) holds an array of routes, or\n"
			"an object with a \"routes\" array (and optional \"flags\"); each route\n"
			"has \"gsi\", \"ind_addr\", \"ind_offset\", \"summary_addr\",\n"
			"\"summary_offset\", \"adapter_id\" and optional \"type\" (default 3,\n"
			"S390 adapter) and \"flags\", numbers or \"0x\" strings.  An empty array\n"
			"clears the table.",
		.complete = "@file",
		.opts = OPT_BIT(OPT_ROUTE) | OPT_BIT(OPT_FLAGS),
		.min_args = 1, .max_args = 2,
		.flags = CMD_NEEDS_DAEMON,
		.fn = cmd_route_set,
	},
	{
		.noun = "route", .verb = "trigger",
		.usage = "NAME GSI [--level N]",
		.help = "signal a GSI (an irqfd firing)",
		.long_help =
			"Signals GSI of VM NAME at --level (default 1) and prints the result: 1\n"
			"injected, 0 coalesced (or level 0).  KVM's bare -1 (no route, no\n"
			"adapter, or an address no memslot backs) is an error (EPERM).",
		.opts = OPT_BIT(OPT_LEVEL),
		.min_args = 2, .max_args = 2,
		.flags = CMD_NEEDS_DAEMON,
		.fn = cmd_route_trigger,
	},
	{
		.noun = "mem", .verb = "read",
		.usage = "NAME GPA LEN [-o FILE]",
		.help = "read guest memory",
		.long_help =
			"Reads LEN bytes of VM NAME's guest memory at GPA and prints them as a\n"
			"hex dump (with -o, raw to FILE).",
		.opts = OPT_BIT(OPT_OUTPUT),
		.min_args = 3, .max_args = 3,
		.flags = CMD_NEEDS_DAEMON,
		.fn = cmd_mem_read,
	},
	{
		.noun = "mem", .verb = "write",
		.usage = "NAME GPA --data HEX | --data-file FILE",
		.help = "write guest memory (e.g. a guest clearing an indicator)",
		.long_help =
			"Writes the bytes given into VM NAME's guest memory at GPA.",
		.opts = OPT_BIT(OPT_DATA) | OPT_BIT(OPT_DATA_FILE),
		.min_args = 2, .max_args = 2,
		.flags = CMD_NEEDS_DAEMON,
		.fn = cmd_mem_write,
	},
	{
		.noun = "mem", .verb = "dirty-log",
		.usage = "NAME SLOT",
		.help = "fetch and clear a memslot's dirty log",
		.long_help =
			"Prints the pages of memslot SLOT of VM NAME that route triggers wrote\n"
			"since the last fetch, and clears the log.",
		.min_args = 2, .max_args = 2,
		.flags = CMD_NEEDS_DAEMON,
		.fn = cmd_mem_dirty_log,
	},
	{
		.noun = "memslot", .verb = "set",
		.usage = "NAME SLOT GPA SIZE",
		.help = "create, move or resize a memslot",
		.long_help =
			"Sets memslot SLOT of VM NAME to [GPA, GPA + SIZE);  SIZE 0 deletes it.",
		.min_args = 4, .max_args = 4,
		.flags = CMD_NEEDS_DAEMON,
		.fn = cmd_memslot_set,
	},
	{
		.noun = "memslot", .verb = "delete",
		.usage = "NAME SLOT",
		.help = "delete a memslot",
		.long_help =
			"Deletes memslot SLOT of VM NAME (a `memslot set' of size 0).",
		.min_args = 2, .max_args = 2,
		.flags = CMD_NEEDS_DAEMON,
		.fn = cmd_memslot_delete,
	},
	{
		.noun = "memslot", .verb = "list",
		.usage = "NAME",
		.help = "list a VM's memslots",
		.long_help =
			"Lists the memslots of VM NAME: slot, guest address and size.",
		.min_args = 1, .max_args = 1,
		.flags = CMD_NEEDS_DAEMON,
		.fn = cmd_memslot_list,
	},
	{
		.noun = "vcpu", .verb = "get",
		.usage = "NAME VCPU",
		.help = "show a vcpu's PSW mask, control registers and run state",
		.long_help =
			"Prints vcpu VCPU of VM NAME:  PSW mask, CR0, CR6, CR14, run state and\n"
			"whether it was kicked.",
		.min_args = 2, .max_args = 2,
		.flags = CMD_NEEDS_DAEMON,
		.fn = cmd_vcpu_get,
	},
	{
		.noun = "vcpu", .verb = "set",
		.usage = "NAME VCPU [--psw-mask X] [--cr0 X] [--cr6 X] [--cr14 X] [--run STATE]",
		.help = "change a vcpu's PSW mask, control registers or run state",
		.long_help =
			"Changes the values given of vcpu VCPU of VM NAME; the others keep their\n"
			"values (gisactl reads them first).",
		.opts = OPT_BIT(OPT_PSW_MASK) | OPT_BIT(OPT_CR0) | OPT_BIT(OPT_CR6) |
			OPT_BIT(OPT_CR14) | OPT_BIT(OPT_RUN),
		.min_args = 2, .max_args = 2,
		.flags = CMD_NEEDS_DAEMON,
		.fn = cmd_vcpu_set,
	},
	{
		.noun = "vcpu", .verb = "run",
		.usage = "NAME VCPU",
		.help = "the vcpu enters SIE (running)",
		.long_help =
			"Makes vcpu VCPU of VM NAME running; a stopped vcpu refuses (-EBUSY).",
		.min_args = 2, .max_args = 2,
		.flags = CMD_NEEDS_DAEMON,
		.fn = cmd_vcpu_run,
	},
	{
		.noun = "vcpu", .verb = "wait",
		.usage = "NAME VCPU",
		.help = "the vcpu executes an enabled wait",
		.long_help =
			"Puts vcpu VCPU of VM NAME into an enabled wait and prints 1 if it\n"
			"sleeps, 0 if a deliverable interrupt keeps it running.",
		.min_args = 2, .max_args = 2,
		.flags = CMD_NEEDS_DAEMON,
		.fn = cmd_vcpu_wait,
	},
	{
		.noun = "vcpu", .verb = "deliver",
		.usage = "NAME VCPU",
		.help = "deliver the highest-priority deliverable interrupt",
		.long_help =
			"Delivers one interrupt to vcpu VCPU of VM NAME, as the CPU would on\n"
			"entering SIE, and prints what was delivered (or nothing).",
		.min_args = 2, .max_args = 2,
		.flags = CMD_NEEDS_DAEMON,
		.fn = cmd_vcpu_deliver,
	},
	{
		.noun = "vcpu", .verb = "deliverable",
		.usage = "NAME VCPU",
		.help = "show the pending interrupts the vcpu could take",
		.long_help =
			"Prints the pending-interrupt bits deliverable to vcpu VCPU of VM NAME\n"
			"under its PSW mask and control registers.",
		.min_args = 2, .max_args = 2,
		.flags = CMD_NEEDS_DAEMON,
		.fn = cmd_vcpu_deliverable,
	},
	{
		.noun = "vcpu", .verb = "tpi",
		.usage = "NAME VCPU",
		.help = "TEST PENDING INTERRUPTION: dequeue one I/O interrupt",
		.long_help =
			"Dequeues the I/O interrupt vcpu VCPU of VM NAME would take and prints\n"
			"its record, or that there was none.",
		.min_args = 2, .max_args = 2,
		.flags = CMD_NEEDS_DAEMON,
		.fn = cmd_vcpu_tpi,
	},
	{
		.noun = "vcpu", .verb = "tsch",
		.usage = "NAME VCPU [--gpr1 X]",
		.help = "TEST SUBCHANNEL: dequeue a subchannel's I/O interrupt",
		.long_help =
			"Dequeues the pending I/O interrupt of the subchannel in --gpr1 for vcpu\n"
			"VCPU of VM NAME and prints its record, or that there was none.",
		.opts = OPT_BIT(OPT_GPR1),
		.min_args = 2, .max_args = 2,
		.flags = CMD_NEEDS_DAEMON,
		.fn = cmd_vcpu_tsch,
	},
	{
		.noun = "gisa", .verb = "gisc-register",
		.usage = "NAME GISC",
		.help = "register a guest ISC for GISA alerts",
		.long_help =
			"Registers guest ISC GISC of VM NAME (which needs a GISA) and prints the\n"
			"host NISC alerts arrive on.",
		.min_args = 2, .max_args = 2,
		.flags = CMD_NEEDS_DAEMON,
		.fn = cmd_gisa_gisc_register,
	},
	{
		.noun = "gisa", .verb = "gisc-unregister",
		.usage = "NAME GISC",
		.help = "unregister a guest ISC",
		.long_help =
			"Drops one registration of guest ISC GISC of VM NAME.",
		.min_args = 2, .max_args = 2,
		.flags = CMD_NEEDS_DAEMON,
		.fn = cmd_gisa_gisc_unregister,
	},
	{
		.noun = "gisa", .verb = "hw-airq",
		.usage = "NAME ISC [--in-sie]",
		.help = "a hardware adapter interruption for the VM's GISA",
		.long_help =
			"Sets ISC's IPM bit in VM NAME's GISA as the hardware would, alerting the\n"
			"host when no vcpu is in SIE (unless --in-sie) and the ISC is\n"
			"alert-enabled.",
		.opts = OPT_BIT(OPT_IN_SIE),
		.min_args = 2, .max_args = 2,
		.flags = CMD_NEEDS_DAEMON,
		.fn = cmd_gisa_hw_airq,
	},
	{
		.noun = "gisa", .verb = "process-alerts",
		.usage = "",
		.help = "process the host's GIB alert list",
		.long_help =
			"Processes the host's GIB alert list and prints how many GISAs it took\n"
			"off.",
		.min_args = 0, .max_args = 0,
		.flags = CMD_NEEDS_DAEMON,
		.fn = cmd_gisa_process_alerts,
	},
	{
		.noun = "gisa", .verb = "timer-fire",
		.usage = "NAME",
		.help = "fire the VM's GISA kicker timer",
		.long_help =
			"Fires VM NAME's armed kicker timer and prints 1 if it re-armed, 0 if it\n"
			"stopped. gisad runs no wall-clock timer unless configured to.",
		.min_args = 1, .max_args = 1,
		.flags = CMD_NEEDS_DAEMON,
		.fn = cmd_gisa_timer_fire,
	},
	{
		.noun = "events", .verb = "read",
		.usage = "NAME [--max N]",
		.help = "take a VM's queued kick events",
		.long_help =
			"Takes (and removes) VM NAME's queued kick and GISA wake-up events from\n"
			"gisad's ring, oldest first, and prints how many were dropped.",
		.opts = OPT_BIT(OPT_MAX),
		.min_args = 1, .max_args = 1,
		.flags = CMD_NEEDS_DAEMON,
		.fn = cmd_events_read,
	},
	{
		.noun = "events", .verb = "follow",
		.usage = "[NAME] [--count N] [--only kicks|jobs]",
		.help = "print events as they happen, until interrupted",
		.long_help =
			"Subscribes to gisad's event stream (of VM NAME only, if given) and\n"
			"prints each event as it arrives, until interrupted (SIGINT or SIGTERM:\n"
			"exit 0) or --count events arrived.  With --json, one compact document\n"
			"per event and line (JSON Lines).",
		.opts = OPT_BIT(OPT_COUNT) | OPT_BIT(OPT_ONLY),
		.min_args = 0, .max_args = 1,
		.flags = CMD_NEEDS_DAEMON | CMD_STREAM,
		.fn = cmd_events_follow,
	},
	{
		.noun = "checkpoint", .verb = "create",
		.usage = "NAME [TAG]",
		.help = "write a VM's checkpoint in gisad's state directory",
		.long_help =
			"Writes VM NAME's current checkpoint, or the one named TAG, atomically\n"
			"into gisad's state directory (a job), and prints the state digest. gisad\n"
			"restores current checkpoints when it starts.",
		.min_args = 1, .max_args = 2,
		.flags = CMD_NEEDS_DAEMON,
		.fn = cmd_checkpoint_create,
	},
	{
		.noun = "checkpoint", .verb = "restore",
		.usage = "NAME [TAG]",
		.help = "restore a VM from its checkpoint, all or nothing",
		.long_help =
			"Builds VM NAME from its current checkpoint, or the one named TAG,\n"
			"replacing the VM if it exists.  A checkpoint that cannot be restored\n"
			"leaves the VM as it was.",
		.min_args = 1, .max_args = 2,
		.flags = CMD_NEEDS_DAEMON,
		.fn = cmd_checkpoint_restore,
	},
	{
		.noun = "checkpoint", .verb = "list",
		.usage = "NAME",
		.help = "list a VM's checkpoints",
		.long_help =
			"Lists the checkpoints of VM NAME (which need not exist), the current\n"
			"one first and then by tag: tag, size, creation time and stored digest.\n"
			"A long listing comes in pages, as vm list's.",
		.min_args = 1, .max_args = 1,
		.flags = CMD_NEEDS_DAEMON,
		.fn = cmd_checkpoint_list,
	},
	{
		.noun = "checkpoint", .verb = "delete",
		.usage = "NAME [TAG]",
		.help = "delete a checkpoint",
		.long_help =
			"Deletes VM NAME's current checkpoint, or the one named TAG.",
		.min_args = 1, .max_args = 2,
		.flags = CMD_NEEDS_DAEMON,
		.fn = cmd_checkpoint_delete,
	},
	{
		.noun = "migrate",
		.usage = "NAME tls://HOST:PORT [--downtime MS]\n"
			 "    [--allow-lossy] [--name NEW] [--compression none|zstd[:LEVEL]]\n"
			 "    [--max-rounds N] [--stall-timeout MS] [--detach]",
		.help = "move a VM live to another gisad",
		.long_help =
			"Moves VM NAME live to the gisad listening at tls://HOST:PORT (HOST a\n"
			"name, an IPv4 address, or an IPv6 address in brackets).  gisad dials it\n"
			"over TLS with its own identity, checks that the destination can hold\n"
			"the state (exactly, or lossily with --allow-lossy), copies it in\n"
			"precopy rounds while the VM runs, then freezes the VM for the last\n"
			"delta and activates it at the destination.  The migration is a job\n"
			"(migrate-out): gisactl polls it every 100 ms, draws a progress line on\n"
			"a terminal, and prints its statistics at the end.  With --detach it\n"
			"prints the new job and returns.  Interrupting gisactl only stops the\n"
			"watching: the migration goes on (`job status ID', `job abort ID').  A\n"
			"source that cannot learn the outcome stays in doubt, the VM frozen,\n"
			"until the destination answers or `job resolve ID' decides.",
		.exits = "0 completed, 1 failed or cancelled, 2 error (or interrupted)",
		.opts = OPT_BIT(OPT_DOWNTIME) | OPT_BIT(OPT_ALLOW_LOSSY) | OPT_BIT(OPT_NAME) |
			OPT_BIT(OPT_COMPRESSION) | OPT_BIT(OPT_MAX_ROUNDS) |
			OPT_BIT(OPT_STALL_TIMEOUT) | OPT_BIT(OPT_DETACH),
		.min_args = 2, .max_args = 2,
		.flags = CMD_NEEDS_DAEMON | CMD_LATE_CONNECT,
		.fn = cmd_migrate,
	},
	{
		.noun = "job", .verb = "list",
		.usage = "",
		.help = "list gisad's jobs",
		.long_help =
			"Lists every job gisad keeps (active, and finished until cleared), by id;\n"
			"under a migration's line, its phase, peer, rounds and downtime.  A long\n"
			"listing comes in pages, as vm list's (a job's state is that of its page).",
		.min_args = 0, .max_args = 0,
		.flags = CMD_NEEDS_DAEMON,
		.fn = cmd_job_list,
	},
	{
		.noun = "job", .verb = "status",
		.usage = "ID",
		.help = "show one job",
		.long_help =
			"Prints job ID: type, operation, VM, times, data processed, error and\n"
			"digest, and a migration's statistics (as `migrate' prints them).",
		.min_args = 1, .max_args = 1,
		.flags = CMD_NEEDS_DAEMON,
		.fn = cmd_job_status,
	},
	{
		.noun = "job", .verb = "resolve",
		.usage = "ID committed|resumed",
		.help = "decide an in-doubt migration by hand",
		.long_help =
			"Decides migrate-out job ID, in doubt because its source could not learn\n"
			"the outcome, once the destination was checked: committed (the VM is\n"
			"active there, so it is retired here) or resumed (it never will be, so\n"
			"it runs here again).  Prints the job as `job status' does.",
		.min_args = 2, .max_args = 2,
		.flags = CMD_NEEDS_DAEMON | CMD_LATE_CONNECT,
		.fn = cmd_job_resolve,
	},
	{
		.noun = "job", .verb = "abort",
		.usage = "ID",
		.help = "abort an active job",
		.long_help =
			"Aborts job ID; a finished job refuses (-EALREADY).",
		.min_args = 1, .max_args = 1,
		.flags = CMD_NEEDS_DAEMON,
		.fn = cmd_job_abort,
	},
	{
		.noun = "job", .verb = "clear",
		.usage = "[ID]",
		.help = "forget a finished job, or all of them",
		.long_help =
			"Forgets finished job ID, or without ID every finished job, and prints\n"
			"how many went.",
		.min_args = 0, .max_args = 1,
		.flags = CMD_NEEDS_DAEMON,
		.fn = cmd_job_clear,
	},
	{
		.noun = "help",
		.usage = "[NOUN [VERB]]",
		.help = "list the commands, or show one command's usage",
		.long_help =
			"Without operands, lists every command.  With a noun, lists its verbs;\n"
			"with a noun and a verb, shows that command's usage, description,\n"
			"options and exit statuses.  `gisactl NOUN VERB --help' does the same.",
		.complete = "@help",
		.min_args = 0, .max_args = 2,
		.fn = cmd_help,
	},
	{
		.noun = "version",
		.usage = "",
		.help = "print the version and the formats this gisactl reads and writes",
		.long_help = "Prints gisactl's version, the snapshot format version it writes,\n"
			     "the newest minimum reader version it accepts, and its JSON schemas.",
		.min_args = 0, .max_args = 0,
		.fn = cmd_version,
	},
	{
		.noun = "__complete",
		.usage = "",
		.help = "print the command table for shell completion",
		.long_help = "Prints one tab-separated line per global option, command and option.",
		.min_args = 0, .max_args = 0,
		.flags = CMD_HIDDEN,
		.fn = cmd_complete,
	},
};
const size_t cmd_table_len = ARRAY_SIZE(cmd_table);

/* Global options: main takes them before the noun and among a command's options. */
static const struct {
	const char *name;
	char short_name;
	const char *arg;
	const char *complete;
	const char *help;
} global_opts[] = {
	{ "socket", 0, "PATH", "@file",
	  "gisad's control socket (default " GISACTL_DEFAULT_SOCKET ")" },
	{ "json", 0, NULL, NULL,
	  "print one JSON document (schema " GISACTL_SCHEMA ", docs/GISACTL-JSON.md)" },
	{ "help", 'h', NULL, NULL, "show the usage (of the command, if one is named)" },
	{ "version", 0, NULL, NULL, "print the version" },
};

static const char *const exit_statuses[] = {
	"0  success (diff: equal; verify: valid; check: exact)",
	"1  a negative answer (diff: different; verify: invalid; check: lossy;\n"
	"   scenario run --check: a mismatch; migrate: failed or cancelled)",
	"2  usage or runtime error (check: also impossible)",
};

const char *cmd_name(const struct cmd_entry *e, char *buf, size_t size)
{
	if (e->verb)
		snprintf(buf, size, "%s %s", e->noun, e->verb);
	else
		snprintf(buf, size, "%s", e->noun);
	return buf;
}

int gisactl_connect(struct gisactl *g)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd;

	if (g->fd >= 0)
		return 0;
	if (strlen(g->socket) >= sizeof(sun.sun_path))
		return out_fail(g, -ENAMETOOLONG, "socket path `%s' is longer than %zu bytes",
				g->socket, sizeof(sun.sun_path) - 1);
	memcpy(sun.sun_path, g->socket, strlen(g->socket) + 1);
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return out_fail(g, -errno, "cannot create a socket: %s", strerror(errno));
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		int e = errno;

		close(fd);
		return out_fail(g, -e, "cannot connect to gisad at `%s': %s", g->socket,
				strerror(e));
	}
	g->fd = fd;
	return 0;
}

/* ---- help, generated from the tables ------------------------------------ */

static bool visible(const struct cmd_entry *e)
{
	return !(e->flags & CMD_HIDDEN);
}

/* Word-wrap text to width, every line after the first indented by indent. */
static void wrap(FILE *f, const char *text, int col, int indent, int width)
{
	const char *p = text;

	while (*p) {
		size_t n = strcspn(p, " ");

		if (col > indent && col + 1 + (int)n > width) {
			fprintf(f, "\n%*s", indent, "");
			col = indent;
		} else if (col > indent) {
			fputc(' ', f);
			col++;
		}
		fwrite(p, 1, n, f);
		col += (int)n;
		p += n;
		while (*p == ' ')
			p++;
	}
	fputc('\n', f);
}

static int opt_label(char *buf, size_t size, const char *name, char short_name, const char *arg)
{
	return snprintf(buf, size, "%c%c%s--%s%s%s", short_name ? '-' : ' ',
			short_name ? short_name : ' ', short_name ? ", " : "  ", name,
			arg ? " " : "", arg ? arg : "");
}

static void print_opt(FILE *f, const char *name, char short_name, const char *arg,
		      const char *help)
{
	char label[64];
	int n = opt_label(label, sizeof(label), name, short_name, arg);

	/* The help starts in column 24, on the next line after a long label. */
	if (n < 22)
		fprintf(f, "  %s%*s", label, 22 - n, "");
	else
		fprintf(f, "  %s\n%24s", label, "");
	wrap(f, help, 24, 24, 79);
}

static void print_exits(FILE *f)
{
	fprintf(f, "exit status:\n");
	for (size_t i = 0; i < ARRAY_SIZE(exit_statuses); i++) {
		const char *p = exit_statuses[i];

		fputs("  ", f);
		for (; *p; p++) {
			fputc(*p, f);
			if (*p == '\n')
				fputs("  ", f);
		}
		fputc('\n', f);
	}
}

static void print_overview(FILE *f)
{
	char name[64];

	int w = 0;

	fprintf(f, "usage: gisactl [--socket PATH] [--json] NOUN VERB [ARGS]\n"
		   "       gisactl help [NOUN [VERB]]\n\ncommands:\n");
	/* The names' column is as wide as the longest visible name. */
	for (size_t i = 0; i < cmd_table_len; i++)
		if (visible(&cmd_table[i]) &&
		    (int)strlen(cmd_name(&cmd_table[i], name, sizeof(name))) > w)
			w = (int)strlen(name);
	for (size_t i = 0; i < cmd_table_len; i++) {
		const struct cmd_entry *e = &cmd_table[i];
		char text[256];

		if (!visible(e))
			continue;
		fprintf(f, "  %-*s ", w, cmd_name(e, name, sizeof(name)));
		snprintf(text, sizeof(text), "%s%s", e->help,
			 e->flags & CMD_NEEDS_DAEMON ? " (gisad)" : "");
		wrap(f, text, w + 3, w + 3, 79);
	}
	fprintf(f, "\nglobal options:\n");
	for (size_t i = 0; i < ARRAY_SIZE(global_opts); i++)
		print_opt(f, global_opts[i].name, global_opts[i].short_name, global_opts[i].arg,
			  global_opts[i].help);
	fputc('\n', f);
	print_exits(f);
	fprintf(f, "\nCommands marked (gisad) talk to the daemon; the others work on files.\n"
		   "`gisactl help NOUN VERB' shows a command's options.\n");
}

static void print_noun(FILE *f, const char *noun)
{
	for (size_t i = 0; i < cmd_table_len; i++) {
		const struct cmd_entry *e = &cmd_table[i];

		if (visible(e) && !strcmp(e->noun, noun))
			out_usage_line(e, f);
	}
}

static void print_command(FILE *f, const struct cmd_entry *e)
{
	out_usage_line(e, f);
	fputc('\n', f);
	wrap(f, e->help, 0, 0, 79);
	fprintf(f, "\n%s\n", e->long_help);
	if (e->flags & CMD_NEEDS_DAEMON)
		fprintf(f, "\nThis command talks to gisad (--socket).\n");
	if (e->opts) {
		fprintf(f, "\noptions:\n");
		for (int id = 0; id < OPT_NR; id++)
			if (e->opts & OPT_BIT(id))
				print_opt(f, opt_defs[id].name, opt_defs[id].short_name,
					  opt_defs[id].arg, opt_defs[id].help);
	}
	fprintf(f, "\nexit status: %s\n", e->exits ? e->exits : "0 success, 2 error");
}

static json_t *json_command(const struct cmd_entry *e)
{
	json_t *o = json_object(), *opts = json_array();
	char name[64];

	jset(o, "command", json_string(cmd_name(e, name, sizeof(name))));
	jset(o, "noun", json_string(e->noun));
	jset(o, "verb", json_str_or_null(e->verb));
	jset(o, "usage", json_string(e->usage));
	jset(o, "help", json_string(e->help));
	jset(o, "exits", json_string(e->exits ? e->exits : "0 success, 2 error"));
	jset(o, "needs_daemon", json_boolean(e->flags & CMD_NEEDS_DAEMON));
	jset(o, "min_args", json_integer(e->min_args));
	jset(o, "max_args", e->max_args < 0 ? json_null() : json_integer(e->max_args));
	for (int id = 0; id < OPT_NR && opts; id++) {
		json_t *p;

		if (!(e->opts & OPT_BIT(id)))
			continue;
		p = json_object();
		jset(p, "name", json_string(opt_defs[id].name));
		jset(p, "short", opt_defs[id].short_name ?
			 json_sprintf("%c", opt_defs[id].short_name) : json_null());
		jset(p, "arg", json_str_or_null(opt_defs[id].arg));
		jset(p, "help", json_string(opt_defs[id].help));
		if (!p || json_array_append_new(opts, p))
			opts = NULL;
	}
	jset(o, "options", opts);
	return o;
}

int cmd_help(struct gisactl *g, const struct cmd_args *a)
{
	const struct cmd_entry *found = NULL;
	bool noun_known = false;
	json_t *list = NULL;

	for (size_t i = 0; i < cmd_table_len; i++) {
		const struct cmd_entry *e = &cmd_table[i];

		if (!visible(e) || (a->argc > 0 && strcmp(e->noun, a->argv[0])))
			continue;
		noun_known = true;
		if (a->argc == 2 && e->verb && !strcmp(e->verb, a->argv[1]))
			found = e;
		if (a->argc == 1 && !e->verb)
			found = e;
	}
	if (a->argc > 0 && !noun_known)
		return out_usage(g, "unknown command `%s'", a->argv[0]);
	if (a->argc == 2 && !found) {
		g->noun = a->argv[0];
		return out_usage(g, "%s: unknown verb `%s'", a->argv[0], a->argv[1]);
	}

	if (g->json) {
		json_t *r = out_result(g);

		list = json_array();
		for (size_t i = 0; i < cmd_table_len && list; i++) {
			const struct cmd_entry *e = &cmd_table[i];

			if (!visible(e) || (found && e != found) ||
			    (a->argc > 0 && strcmp(e->noun, a->argv[0])))
				continue;
			if (json_array_append_new(list, json_command(e)))
				list = NULL;
		}
		jset(r, "commands", list);
		if (a->argc == 0) {
			json_t *go = json_array(), *ex = json_array();

			for (size_t i = 0; i < ARRAY_SIZE(global_opts) && go; i++) {
				json_t *p = json_object();

				jset(p, "name", json_string(global_opts[i].name));
				jset(p, "arg", json_str_or_null(global_opts[i].arg));
				jset(p, "help", json_string(global_opts[i].help));
				if (json_array_append_new(go, p))
					go = NULL;
			}
			for (int s = 0; s <= 2 && ex; s++)
				if (json_array_append_new(ex, json_integer(s)))
					ex = NULL;
			jset(r, "global_options", go);
			jset(r, "exit_statuses", ex);
		}
		return GISACTL_EXIT_OK;
	}
	if (found && (a->argc == 2 || !found->verb))
		print_command(stdout, found);
	else if (a->argc == 1)
		print_noun(stdout, a->argv[0]);
	else
		print_overview(stdout);
	return GISACTL_EXIT_OK;
}

int cmd_version(struct gisactl *g, const struct cmd_args *a)
{
	if (g->json) {
		json_t *r = out_result(g);

		jset(r, "version", json_string(GISACTL_VERSION));
		jset(r, "snapshot_format_version", json_integer(GISA_SNAP_FORMAT_VERSION));
		jset(r, "snapshot_reader_version", json_integer(GISA_SNAP_READER_VERSION));
		jset(r, "snapshot_json_schema", json_string(GISA_JSON_SCHEMA));
		return GISACTL_EXIT_OK;
	}
	printf("gisactl %s\n", GISACTL_VERSION);
	printf("snapshot format %u (reads files needing reader version %u or older)\n",
	       GISA_SNAP_FORMAT_VERSION, GISA_SNAP_READER_VERSION);
	printf("snapshot JSON schema %s, --json schema %s\n", GISA_JSON_SCHEMA, GISACTL_SCHEMA);
	return GISACTL_EXIT_OK;
}

/*
 * The table for the bash completion (gisactl.bash-completion), one
 * tab-separated line each:
 *   global  OPTION  VALUE
 *   cmd     NOUN    VERB    OPERANDS
 *   opt     NOUN    VERB    OPTION  VALUE
 * VERB is "-" for a command named by its noun alone.  VALUE says what the
 * option takes: "-" nothing, "@file" a file name, "@none" free text, else a
 * space-separated list of words.  OPERANDS: "@file", "@help" (nouns, then
 * verbs), "@none".  Short options get their own lines.
 */
int cmd_complete(struct gisactl *g, const struct cmd_args *a)
{
	for (size_t i = 0; i < ARRAY_SIZE(global_opts); i++) {
		const char *v = global_opts[i].arg ? global_opts[i].complete : "-";

		printf("global\t--%s\t%s\n", global_opts[i].name, v);
		if (global_opts[i].short_name)
			printf("global\t-%c\t%s\n", global_opts[i].short_name, v);
	}
	for (size_t i = 0; i < cmd_table_len; i++) {
		const struct cmd_entry *e = &cmd_table[i];
		const char *verb = e->verb ? e->verb : "-";

		if (!visible(e))
			continue;
		printf("cmd\t%s\t%s\t%s\n", e->noun, verb, e->complete ? e->complete : "@none");
		for (int id = 0; id < OPT_NR; id++) {
			const struct opt_def *o = &opt_defs[id];
			const char *v = o->arg ? o->complete : "-";

			if (!(e->opts & OPT_BIT(id)))
				continue;
			printf("opt\t%s\t%s\t--%s\t%s\n", e->noun, verb, o->name, v);
			if (o->short_name)
				printf("opt\t%s\t%s\t-%c\t%s\n", e->noun, verb, o->short_name, v);
		}
	}
	(void)g;
	(void)a;
	return GISACTL_EXIT_OK;
}

/* ---- parsing ------------------------------------------------------------ */

/* Not exit statuses: parse_args returns GLOBAL_HELP beside them. */
enum global_result {
	GLOBAL_NONE = -1, GLOBAL_TAKEN = -2, GLOBAL_HELP = -3, GLOBAL_VERSION = -4,
	GLOBAL_ERROR = -5
};

/*
 * A global option at argv[*i]: consumes it (and its value).  Returns
 * GLOBAL_NONE if argv[*i] is not one.
 */
static enum global_result parse_global(struct gisactl *g, int argc, char **argv, int *i)
{
	const char *s = argv[*i];

	if (!strcmp(s, "--json")) {
		g->json = true;
		return GLOBAL_TAKEN;
	}
	if (!strcmp(s, "-h") || !strcmp(s, "--help"))
		return GLOBAL_HELP;
	if (!strcmp(s, "--version"))
		return GLOBAL_VERSION;
	if (!strncmp(s, "--socket=", 9)) {
		g->socket = s + 9;
	} else if (!strcmp(s, "--socket")) {
		if (*i + 1 >= argc) {
			out_usage_report(g, "option `--socket' needs a value (PATH)");
			return GLOBAL_ERROR;
		}
		g->socket = argv[++*i];
	} else {
		return GLOBAL_NONE;
	}
	if (!*g->socket) {
		out_usage_report(g, "option `--socket' needs a non-empty PATH");
		return GLOBAL_ERROR;
	}
	return GLOBAL_TAKEN;
}

static int find_opt(const struct cmd_entry *e, const char *name, size_t len, char short_name)
{
	for (int id = 0; id < OPT_NR; id++) {
		const struct opt_def *o = &opt_defs[id];

		if (short_name ? o->short_name == short_name :
				 strlen(o->name) == len && !strncmp(o->name, name, len))
			return (e->opts & OPT_BIT(id)) ? id : -2;
	}
	return -1;
}

/*
 * Options and operands after the verb, in any order ("--" ends options;
 * "-" alone is an operand).  Returns 0, GLOBAL_HELP, or an exit status
 * (usage error reported).
 */
static int parse_args(struct gisactl *g, const struct cmd_entry *e, int argc, char **argv,
		      struct cmd_args *a)
{
	bool operands_only = false;
	int i;

	for (i = 0; i < argc; i++) {
		char *s = argv[i];
		const char *name, *value = NULL;
		enum global_result gr;
		size_t len;
		char sh = 0;
		int id;

		if (operands_only || s[0] != '-' || !s[1]) {
			a->argv[a->argc++] = s;
			continue;
		}
		if (!strcmp(s, "--")) {
			operands_only = true;
			continue;
		}
		gr = parse_global(g, argc, argv, &i);
		switch (gr) {
		case GLOBAL_TAKEN:
			continue;
		case GLOBAL_HELP:
		case GLOBAL_VERSION:
			return gr;
		case GLOBAL_ERROR:
			return GISACTL_EXIT_ERROR;
		case GLOBAL_NONE:
			break;
		}
		if (s[1] == '-') {
			name = s + 2;
			len = strcspn(name, "=");
			if (name[len])
				value = name + len + 1;
		} else {
			name = s + 1;
			len = 1;
			sh = s[1];
			if (s[2])
				value = s + 2;
		}
		id = find_opt(e, name, len, sh);
		if (id == -1)
			return out_usage(g, "unknown option `%s'", s);
		if (id == -2)
			return out_usage(g, "option `%.*s%.*s' does not apply to this command",
					 sh ? 1 : 2, "--", (int)len, name);
		if (a->opt[id] && !opt_defs[id].repeat)
			return out_usage(g, "option `--%s' given twice", opt_defs[id].name);
		if (!opt_defs[id].arg) {
			if (value)
				return out_usage(g, "option `--%s' takes no value: `%s'",
						 opt_defs[id].name, s);
			a->opt[id] = "";
			continue;
		}
		if (!value) {
			if (i + 1 >= argc)
				return out_usage(g, "option `--%s' needs a value (%s)",
						 opt_defs[id].name, opt_defs[id].arg);
			value = argv[++i];
		}
		if (!a->opt[id])
			a->opt[id] = value;
		if (opt_defs[id].repeat) {
			if (!a->list[id]) {
				a->list[id] = calloc((size_t)argc, sizeof(*a->list[id]));
				if (!a->list[id])
					return out_fail(g, -ENOMEM, "out of memory");
			}
			a->list[id][a->nlist[id]++] = value;
		}
	}
	return 0;
}

static const struct cmd_entry *find_cmd(const char *noun, const char *verb)
{
	for (size_t i = 0; i < cmd_table_len; i++) {
		const struct cmd_entry *e = &cmd_table[i];

		if (!strcmp(e->noun, noun) && (!e->verb || (verb && !strcmp(e->verb, verb))))
			return e;
	}
	return NULL;
}

static bool noun_has_verbs(const char *noun)
{
	for (size_t i = 0; i < cmd_table_len; i++)
		if (!strcmp(cmd_table[i].noun, noun))
			return cmd_table[i].verb != NULL;
	return false;
}

static bool noun_exists(const char *noun)
{
	for (size_t i = 0; i < cmd_table_len; i++)
		if (!strcmp(cmd_table[i].noun, noun))
			return true;
	return false;
}

static int run(struct gisactl *g, int argc, char **argv)
{
	struct cmd_args args = { 0 };
	const struct cmd_entry *e;
	const char *noun, *verb = NULL;
	int i = 1, r;

	/* Global options before the noun. */
	for (; i < argc && argv[i][0] == '-' && argv[i][1]; i++) {
		if (!strcmp(argv[i], "--")) {
			i++;
			break;
		}
		switch (parse_global(g, argc, argv, &i)) {
		case GLOBAL_TAKEN:
			continue;
		case GLOBAL_HELP:
			g->cmd = find_cmd("help", NULL);
			return cmd_help(g, &args);
		case GLOBAL_VERSION:
			g->cmd = find_cmd("version", NULL);
			return cmd_version(g, &args);
		case GLOBAL_ERROR:
			return GISACTL_EXIT_ERROR;
		case GLOBAL_NONE:
			return out_usage(g, "unknown option `%s'", argv[i]);
		}
	}
	if (i >= argc)
		return out_usage(g, "a command is needed");
	noun = argv[i++];
	if (!noun_exists(noun))
		return out_usage(g, "unknown command `%s'", noun);
	if (noun_has_verbs(noun)) {
		if (i >= argc || argv[i][0] == '-') {
			if (i < argc && (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help"))) {
				char *names[1] = { (char *)noun };

				args.argc = 1;
				args.argv = names;
				g->cmd = find_cmd("help", NULL);
				return cmd_help(g, &args);
			}
			g->noun = noun;
			return out_usage(g, "%s: a verb is needed", noun);
		}
		verb = argv[i++];
	}
	e = find_cmd(noun, verb);
	if (!e) {
		g->noun = noun;
		return out_usage(g, "%s: unknown verb `%s'", noun, verb);
	}
	g->cmd = e;

	args.argv = calloc((size_t)(argc - i) + 1, sizeof(*args.argv));
	if (!args.argv)
		return out_fail(g, -ENOMEM, "out of memory");
	r = parse_args(g, e, argc - i, argv + i, &args);
	if (r == GLOBAL_HELP) {
		struct cmd_args h = { .argc = e->verb ? 2 : 1 };
		char *names[2] = { (char *)e->noun, (char *)e->verb };

		h.argv = names;
		g->cmd = find_cmd("help", NULL);
		r = cmd_help(g, &h);
		goto out;
	}
	if (r == GLOBAL_VERSION) {
		g->cmd = find_cmd("version", NULL);
		r = cmd_version(g, &args);
		goto out;
	}
	if (r)
		goto out;
	if (args.argc < e->min_args || (e->max_args >= 0 && args.argc > e->max_args)) {
		if (args.argc < e->min_args)
			r = out_usage(g, "missing operand: %d given, %d needed", args.argc,
				      e->min_args);
		else
			r = out_usage(g, "unexpected operand `%s'", args.argv[e->max_args]);
		goto out;
	}
	if ((e->flags & CMD_NEEDS_DAEMON) && !(e->flags & CMD_LATE_CONNECT)) {
		r = gisactl_connect(g);
		if (r)
			goto out;
	}
	r = e->fn(g, &args);
out:
	for (int id = 0; id < OPT_NR; id++)
		free(args.list[id]);
	free(args.argv);
	return r;
}

/* Whether argument s is an option of e that takes its value from the next one. */
static bool takes_next(const struct cmd_entry *e, const char *s)
{
	int id;

	if (s[0] != '-' || !s[1] || strchr(s, '='))
		return false;
	if (s[1] == '-')
		id = find_opt(e, s + 2, strlen(s + 2), 0);
	else if (!s[2])
		id = find_opt(e, s + 1, 1, s[1]);
	else
		return false;
	return id >= 0 && opt_defs[id].arg;
}

/*
 * A usage error stops the parser at the argument it refuses, maybe before
 * a --json further on; that one still asks for the error document.  The
 * rule: an argument "--json" counts wherever it stands unless it follows
 * "--" (after the noun: an operand) or is the value of the option before
 * it (--socket, or an option of the command, when the command is known,
 * that takes a value and was given without "=").
 */
static bool json_anywhere(const struct cmd_entry *e, int argc, char **argv)
{
	bool noun = false;

	for (int i = 1; i < argc; i++) {
		const char *s = argv[i];

		if (!strcmp(s, "--json"))
			return true;
		if (!strcmp(s, "--")) {
			if (noun)
				return false;
			noun = true;
			i++; /* the noun, whatever it looks like */
		} else if (!strcmp(s, "--socket") || (noun && e && takes_next(e, s))) {
			i++;
		} else if (s[0] != '-' || !s[1]) {
			noun = true;
		}
	}
	return false;
}

/*
 * --json: the handler's document, or an error document when a command
 * failed (or its document could not be made).  Returns the exit status.
 */
static int print_json(struct gisactl *g, int status)
{
	json_t *doc = g->result, *err, *cmd = json_null();
	char name[64];

	if (!g->errcode && g->cmd && (g->cmd->flags & CMD_STREAM))
		return status;
	if (!g->errcode && out_json_ok(g)) {
		if (doc && out_print_json(doc, stdout))
			status = GISACTL_EXIT_ERROR;
		return status;
	}
	if (!g->errcode) {
		snprintf(g->errmsg, sizeof(g->errmsg), "out of memory");
		g->errcode = errno_code(-ENOMEM);
		status = GISACTL_EXIT_ERROR;
	}
	if (g->cmd)
		cmd = json_string(cmd_name(g->cmd, name, sizeof(name)));
	doc = json_object();
	err = json_object();
	jset(doc, "schema", json_string(GISACTL_SCHEMA));
	jset(doc, "command", cmd);
	jset(err, "code", json_string(g->errcode));
	jset(err, "message", json_text(g->errmsg));
	if (g->errmigration)
		jset(err, "migration", json_string(g->errmigration));
	jset(doc, "error", err);
	if (!doc || out_print_json(doc, stdout))
		status = GISACTL_EXIT_ERROR;
	json_decref(doc);
	return status;
}

int main(int argc, char **argv)
{
	struct gisactl g = { .socket = GISACTL_DEFAULT_SOCKET, .fd = -1 };
	int status = run(&g, argc, argv);

	if (!g.json && g.errcode && !strcmp(g.errcode, "usage"))
		g.json = json_anywhere(g.cmd, argc, argv);
	if (g.json)
		status = print_json(&g, status);
	json_decref(g.result);
	if (g.fd >= 0)
		close(g.fd);
	if (fflush(stdout) || ferror(stdout)) {
		fprintf(stderr, "gisactl: cannot write to standard output: %s\n", strerror(errno));
		status = GISACTL_EXIT_ERROR;
	}
	return status;
}
