// The short fault run in ctest: the real herd, one process per node, traffic
// recorded in an oracle while a seeded schedule SIGKILLs and restarts nodes (one from state_dir,
// one volatile with an empty store), SIGSTOPs one, and cuts links (reset and blackhole); then
// every node must answer every client with the newest acknowledged line. The long soak is the
// same code: `herd-fault --minutes 10 --seed 42`.
#include "faultharness.h"

#include <QFileInfo>
#include <QTest>

using namespace Qt::StringLiterals;

class tst_Fault : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void shortRun();
    void oracleCatchesLoss();
};

void tst_Fault::shortRun()
{
    const QString binary = qEnvironmentVariable("HERD_TEST_BINARY");
    if (binary.isEmpty())
        QSKIP("HERD_TEST_BINARY is not set (ctest sets it to the built herd)");
    QVERIFY2(QFileInfo(binary).isExecutable(), qPrintable(binary + u" is not executable"_s));

    herdfault::Options options = herdfault::Options::shortRun();
    options.herdBinary = binary;
    const herdfault::Report r = herdfault::run(options, [](const QString &line) { qInfo("%s", qPrintable(line)); });
    const QString text = herdfault::summary(r, options);
    for (const QString &line : text.split(u'\n', Qt::SkipEmptyParts))
        qInfo("%s", qPrintable(line));

    QVERIFY2(r.setupError.isEmpty(), qPrintable(r.setupError));
    // The schedule covered what the short run promises.
    QVERIFY2(r.killsEmpty >= 1, "no SIGKILL + restart with an empty store");
    QVERIFY2(r.killsWithState >= 1, "no SIGKILL + restart from state_dir");
    QVERIFY2(r.stops >= 1, "no SIGSTOP/SIGCONT");
    QVERIFY2(r.cutsReset + r.cutsBlackhole >= 1, "no link cut");
    QVERIFY2(r.acknowledged > 200, "too little traffic to mean anything");
    QVERIFY2(r.frozenChecks >= 1, "no frozen node whose neighbours could be checked");

    QCOMPARE(r.crashes, 0);
    QCOMPARE(r.protocolErrors, 0);
    QCOMPARE(r.unansweredLive, 0);
    QCOMPARE(r.frozenDetected, r.frozenChecks);
    QVERIFY2(r.convergenceMs >= 0, "the herd did not converge after the heal");
    QCOMPARE(r.lost, 0);
    QCOMPARE(r.stale, 0);
    QCOMPARE(r.bad, 0);
    QCOMPARE(r.uncleanExits, 0);
    QVERIFY(r.passed);
}

// The same harness must be able to fail: acknowledged updates destroyed behind the oracle's back
// (a node with state_dir, isolated, acknowledges updates, is SIGKILLed and loses its state files)
// must show up as lost or stale, and the run must not pass.
void tst_Fault::oracleCatchesLoss()
{
    const QString binary = qEnvironmentVariable("HERD_TEST_BINARY");
    if (binary.isEmpty())
        QSKIP("HERD_TEST_BINARY is not set (ctest sets it to the built herd)");

    herdfault::Options options = herdfault::Options::shortRun();
    options.herdBinary = binary;
    options.seed = 2;
    options.trafficMs = 2000;
    options.plannedFirst = false;
    options.sabotage = true;
    options.convergeTimeoutMs = 3000;
    const herdfault::Report r = herdfault::run(options, [](const QString &line) { qInfo("%s", qPrintable(line)); });
    const QString text = herdfault::summary(r, options);
    for (const QString &line : text.split(u'\n', Qt::SkipEmptyParts))
        qInfo("%s", qPrintable(line));

    QVERIFY2(r.setupError.isEmpty(), qPrintable(r.setupError));
    QCOMPARE(r.crashes, 0);
    QVERIFY2(r.lost + r.stale >= 10, "the destroyed updates went unnoticed");
    QCOMPARE(r.convergenceMs, -1);
    QVERIFY(!r.passed);
}

QTEST_GUILESS_MAIN(tst_Fault)
#include "tst_fault.moc"
