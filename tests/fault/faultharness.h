#pragma once
// Fault harness with an oracle: a real herd, one `herd --headless` process per
// node on loopback, client traffic recorded update by update, SIGKILL / restart, SIGSTOP /
// SIGCONT and link cuts injected while it runs, then a check of every live node against what was
// acknowledged. Shared by the standalone soak tool (herd-fault) and the short ctest (tst_fault).
//
// The herd is the classic Hill/Jaquez/Smith/Campbell/Singleton one. Every node gets its own
// config file in which each neighbour's port is the port of a TCP relay in this process that
// forwards to the neighbour's real port, so a link can be cut from outside (both directions):
//   reset     the relay resets every connection of the link and resets new ones at once;
//   blackhole the relay stops moving bytes (and closes nothing) until the heal, like a network
//             partition: heartbeats go unanswered, the nodes declare the link dead themselves.
//
// Durability contract checked (state_dir in docs/OPERATIONS.md):
//   - nodes with state_dir ("persistent", all but --volatile ones): an update whose AT reply
//     reached the client survives a SIGKILL of the node that acknowledged it (the journal is
//     written before the reply);
//   - a volatile node (no state_dir) restarts empty; what it acknowledged and had not flooded
//     before the kill may be lost, so its acks from a killed incarnation are not required; the
//     herd must still converge: every live node ends with the same, newest line any live node
//     held (never an older one than a node answered earlier).
#include <QString>
#include <QStringList>

#include <functional>

namespace herdfault {

struct Options {
    QString herdBinary;                 // the herd executable
    quint64 seed = 0;
    bool seedSet = false;               // else a seed is drawn and printed
    qint64 trafficMs = 60000;           // how long traffic and faults run
    int rate = 200;                     // IAMATs per second, all workers together
    int clients = 500;                  // client IDs in the pool
    int workers = 8;                    // client connections sending at once (one request each)
    QStringList volatileNodes{QStringLiteral("Campbell")};   // nodes without state_dir
    int maxConcurrentFaults = 2;        // faults active at the same time
    int faultGapMinMs = 500;            // between two fault starts
    int faultGapMaxMs = 2500;
    double faultScale = 1.0;            // multiplies every fault's duration
    int heartbeatMs = 200;              // peers.heartbeat_ms of every node
    int deadAfterMissed = 5;            // peers.dead_after_missed
    qint64 convergeTimeoutMs = 60000;   // after the heal, before lost/stale are counted
    int requestTimeoutMs = 5000;        // an IAMAT unanswered this long is abandoned (in doubt)
    bool plannedFirst = true;           // the first faults cover every kind, in a seeded order
    bool secret = true;                 // run the herd with a peer secret (HMAC handshake)
    bool keep = false;                  // keep the work directory (configs, logs, state)
    bool quiet = false;                 // summary only
    int statusEveryMs = 10000;          // progress line period (0: none)
    bool sabotage = false;              // lose acknowledged updates on purpose: the check must fail

    static Options shortRun();          // the ctest scenario
};

struct Report {
    bool passed = false;
    QString setupError;                 // non-empty: the harness itself could not run
    quint64 seed = 0;
    QString workDir;

    // Faults injected.
    int faults = 0;
    int killsWithState = 0;             // SIGKILL + restart from state_dir
    int killsEmpty = 0;                 // SIGKILL + restart with an empty store
    int stops = 0;                      // SIGSTOP ... SIGCONT
    int cutsReset = 0;
    int cutsBlackhole = 0;
    int faultsSkipped = 0;              // planned, but the target was not ready for 10 s

    // Traffic.
    qint64 sent = 0;                    // IAMATs written
    qint64 acknowledged = 0;            // AT reply received (the oracle's input)
    qint64 inDoubt = 0;                 // no reply: node killed, frozen or connection lost
    qint64 probes = 0;                  // deliberately old times among the acknowledged
    qint64 unansweredLive = 0;          // no reply from a node neither killed nor frozen
    qint64 protocolErrors = 0;          // "?" to a valid IAMAT, wrong AT line, stray line
    qint64 maxLatencyMs = 0;            // slowest reply from a node that was not frozen
    qint64 slowReplies = 0;             // replies over 1 s from nodes that were not frozen

    // Check after the heal.
    int clientsChecked = 0;
    int nodesChecked = 0;
    qint64 exact = 0;                   // (node, client) answering the newest acknowledged line
    qint64 newer = 0;                   // ... a newer line that was in doubt or acked by a lost incarnation
    qint64 unknownOk = 0;               // client never acknowledged anywhere durable, unknown everywhere
    qint64 lost = 0;                    // node does not know a client it must know
    qint64 stale = 0;                   // node answers an older line than it must (or than before)
    qint64 bad = 0;                     // a line nobody acknowledged or sent, or a mangled one
    qint64 convergenceMs = -1;          // heal done -> every node agrees with the oracle
    int rounds = 0;                     // WHATSAT sweeps until then
    int frozenChecks = 0;               // neighbour links that had to go down during a SIGSTOP
    int frozenDetected = 0;             // ... and did
    int crashes = 0;                    // a node exited on its own
    int uncleanExits = 0;               // SIGTERM at the end did not give exit 0
    QStringList problems;               // the first few, human readable
};

// Runs the whole scenario in the calling thread (needs a QCoreApplication). `print` gets
// progress lines (not called when options.quiet, except for problems).
Report run(const Options &options, const std::function<void(const QString &)> &print);

// The multi-line result block printed at the end.
QString summary(const Report &report, const Options &options);

// herd-fault's command line. Returns false with *error set on a bad one; *help for --help.
bool parseCommandLine(const QStringList &arguments, Options *options, bool *help, QString *error);
QString usage();

} // namespace herdfault
