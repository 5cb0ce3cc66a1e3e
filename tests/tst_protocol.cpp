// The client protocol (docs/PROTOCOL.md) as data tables over the pure parse/format functions of
// server/protocol.h: no sockets, no event loop.
#include "protocol.h"

#include <QByteArrayList>
#include <QTest>

#include <cmath>

using namespace herd::protocol;
using namespace Qt::StringLiterals;

Q_DECLARE_METATYPE(herd::protocol::Kind)

namespace herd::protocol {

// Found by ADL from QCOMPARE: readable failure output.
char *toString(const Timestamp &t)
{
    return qstrdup(QByteArray::number(t.sec).append('.')
                       .append(QByteArray::number(t.nsec).rightJustified(9, '0'))
                       .constData());
}

char *toString(Kind k)
{
    const char *name = "?";
    switch (k) {
    case Kind::Blank: name = "Blank"; break;
    case Kind::Iamat: name = "Iamat"; break;
    case Kind::Whatsat: name = "Whatsat"; break;
    case Kind::At: name = "At"; break;
    case Kind::Peer: name = "Peer"; break;
    case Kind::Invalid: name = "Invalid"; break;
    }
    return qstrdup(name);
}

} // namespace herd::protocol

namespace {

// True when `view` lies inside `line`'s bytes: parse() hands out views, never copies.
bool pointsInto(QByteArrayView view, const QByteArray &line)
{
    return view.data() >= line.constData()
        && view.data() + view.size() <= line.constData() + line.size();
}

QByteArray describe(QByteArrayView bytes)
{
    return escaped(bytes, 200);
}

bool near(double a, double b)
{
    return std::abs(a - b) <= 1e-9;
}

} // namespace

class tst_Protocol : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void splitFields_data();
    void splitFields();

    void parseTime_data();
    void parseTime();
    void timeOrdering_data();
    void timeOrdering();

    void parseLocation_data();
    void parseLocation();

    void parseRadiusKm_data();
    void parseRadiusKm();
    void parseBound_data();
    void parseBound();

    void isSkew_data();
    void isSkew();
    void formatSkew_data();
    void formatSkew();

    void parseKind_data();
    void parseKind();
    void parseIamat_data();
    void parseIamat();
    void parseWhatsat_data();
    void parseWhatsat();
    void parseAt_data();
    void parseAt();

    void formatAt_data();
    void formatAt();

    void escaped_data();
    void escaped();
};

// ---------------------------------------------------------------------------------------------
// splitFields

void tst_Protocol::splitFields_data()
{
    QTest::addColumn<QByteArray>("line");
    QTest::addColumn<int>("max");
    QTest::addColumn<int>("count");
    QTest::addColumn<QByteArrayList>("fields");

    QTest::newRow("empty") << ""_ba << 6 << 0 << QByteArrayList{};
    QTest::newRow("one field") << "IAMAT"_ba << 6 << 1 << QByteArrayList{"IAMAT"_ba};
    QTest::newRow("single spaces") << "a b c"_ba << 6 << 3 << QByteArrayList{"a"_ba, "b"_ba, "c"_ba};
    QTest::newRow("space run") << "a     b"_ba << 6 << 2 << QByteArrayList{"a"_ba, "b"_ba};
    QTest::newRow("tab") << "a\tb"_ba << 6 << 2 << QByteArrayList{"a"_ba, "b"_ba};
    QTest::newRow("tab run") << "a\t\t\tb"_ba << 6 << 2 << QByteArrayList{"a"_ba, "b"_ba};
    QTest::newRow("CR") << "a\rb"_ba << 6 << 2 << QByteArrayList{"a"_ba, "b"_ba};
    QTest::newRow("FF") << "a\fb"_ba << 6 << 2 << QByteArrayList{"a"_ba, "b"_ba};
    QTest::newRow("VT") << "a\vb"_ba << 6 << 2 << QByteArrayList{"a"_ba, "b"_ba};
    QTest::newRow("mixed run") << "a \t\r\f\v b\v\fc"_ba << 6 << 3
                               << QByteArrayList{"a"_ba, "b"_ba, "c"_ba};
    QTest::newRow("leading white space") << " \t\r\f\va b"_ba << 6 << 2
                                         << QByteArrayList{"a"_ba, "b"_ba};
    QTest::newRow("trailing white space") << "a b \t\r\f\v"_ba << 6 << 2
                                          << QByteArrayList{"a"_ba, "b"_ba};
    QTest::newRow("trailing CR") << "a b\r"_ba << 6 << 2 << QByteArrayList{"a"_ba, "b"_ba};
    QTest::newRow("both ends") << "\t  a  \r"_ba << 6 << 1 << QByteArrayList{"a"_ba};
    QTest::newRow("white space only") << " \t\r\f\v  "_ba << 6 << 0 << QByteArrayList{};
    QTest::newRow("LF is no separator") << "a\nb"_ba << 6 << 1 << QByteArrayList{"a\nb"_ba};
    QTest::newRow("NUL inside field") << "a\0b c"_ba << 6 << 2 << QByteArrayList{"a\0b"_ba, "c"_ba};
    QTest::newRow("NUL alone") << "x \0 y"_ba << 6 << 3 << QByteArrayList{"x"_ba, "\0"_ba, "y"_ba};
    QTest::newRow("non-ASCII") << "caf\xc3\xa9 \xff\xfe \x80"_ba << 6 << 3
                               << QByteArrayList{"caf\xc3\xa9"_ba, "\xff\xfe"_ba, "\x80"_ba};
    QTest::newRow("NBSP is no separator") << "a\xc2\xa0" "b"_ba << 6 << 1
                                          << QByteArrayList{"a\xc2\xa0" "b"_ba};
    QTest::newRow("other controls kept") << "a\x01\x1b\x7f" "b"_ba << 6 << 1
                                         << QByteArrayList{"a\x01\x1b\x7f" "b"_ba};
    QTest::newRow("count = max") << "a b c"_ba << 3 << 3 << QByteArrayList{"a"_ba, "b"_ba, "c"_ba};
    QTest::newRow("count = max + 1") << "a b c d"_ba << 3 << 4
                                     << QByteArrayList{"a"_ba, "b"_ba, "c"_ba};
    QTest::newRow("count well above max") << "a b c d e f g h"_ba << 6 << 8
                                          << QByteArrayList{"a"_ba, "b"_ba, "c"_ba,
                                                            "d"_ba, "e"_ba, "f"_ba};
    QTest::newRow("max 0") << "a b"_ba << 0 << 2 << QByteArrayList{};
    QTest::newRow("max 1") << " a\tb "_ba << 1 << 2 << QByteArrayList{"a"_ba};
}

void tst_Protocol::splitFields()
{
    QFETCH(QByteArray, line);
    QFETCH(int, max);
    QFETCH(int, count);
    QFETCH(QByteArrayList, fields);

    // Slots past `max` hold a sentinel: splitFields must never write beyond `max`.
    static const QByteArray sentinel = "<untouched>"_ba;
    QByteArrayView out[8];
    for (auto &v : out)
        v = sentinel;
    QVERIFY(max <= 8);

    const int n = herd::protocol::splitFields(line, out, max);
    QCOMPARE(n, count);
    QCOMPARE(qsizetype(qMin(n, max)), fields.size());
    for (int i = 0; i < fields.size(); ++i) {
        QCOMPARE(out[i].toByteArray(), fields.at(i));
        QVERIFY2(pointsInto(out[i], line), "field is not a view into the line");
    }
    for (int i = max; i < 8; ++i)
        QVERIFY2(out[i].data() == sentinel.constData(),
                 qPrintable(u"slot %1 written past max %2"_s.arg(i).arg(max)));
}

// ---------------------------------------------------------------------------------------------
// parseTime

void tst_Protocol::parseTime_data()
{
    QTest::addColumn<QByteArray>("text");
    QTest::addColumn<bool>("valid");
    QTest::addColumn<qint64>("sec");
    QTest::addColumn<int>("nsec");

    auto ok = [](const char *name, QByteArray text, qint64 sec, int nsec) {
        QTest::newRow(name) << text << true << sec << nsec;
    };
    auto bad = [](const char *name, QByteArray text) {
        QTest::newRow(name) << text << false << qint64(0) << 0;
    };

    ok("9 fraction digits", "1621464827.959498503"_ba, 1621464827, 959498503);
    ok("7 fraction digits", "1589999999.1234567"_ba, 1589999999, 123456700);
    ok("1 fraction digit", "1621464827.9"_ba, 1621464827, 900000000);
    ok("integer", "1621464827"_ba, 1621464827, 0);
    ok("zero", "0"_ba, 0, 0);
    ok("zero point five", "0.5"_ba, 0, 500000000);
    ok("one nanosecond", "0.000000001"_ba, 0, 1);
    ok("max fraction", "1.999999999"_ba, 1, 999999999);
    ok("trailing fraction zeros", "7.000000000"_ba, 7, 0);
    ok("leading zeros", "0001621464827.5"_ba, 1621464827, 500000000);
    ok("18 integer digits", "999999999999999999.999999999"_ba, 999999999999999999LL, 999999999);

    bad("empty", ""_ba);
    bad("leading dot", ".5"_ba);
    bad("trailing dot", "5."_ba);
    bad("dot only", "."_ba);
    bad("negative", "-1"_ba);
    bad("plus sign", "+1"_ba);
    bad("exponent", "1e9"_ba);
    bad("exponent upper", "1E9"_ba);
    bad("fraction exponent", "1.5e3"_ba);
    bad("10 fraction digits", "1.1234567890"_ba);
    bad("10 fraction digits real", "1621464827.9594985030"_ba);
    bad("letters", "abc"_ba);
    bad("comma", "1,5"_ba);
    bad("nan", "nan"_ba);
    bad("NaN", "NaN"_ba);
    bad("inf", "inf"_ba);
    bad("infinity", "infinity"_ba);
    bad("hex", "0x1A"_ba);
    bad("hex digits", "1f"_ba);
    bad("19 integer digits", "1000000000000000000"_ba);
    bad("20 integer digits", "99999999999999999999"_ba);
    bad("19 digits with fraction", "1234567890123456789.5"_ba);
    bad("two dots", "1.5.6"_ba);
    bad("double dot", "1..5"_ba);
    bad("space inside", "16214 64827"_ba);
    bad("space before fraction", "1621464827 .5"_ba);
    bad("tab after dot", "1.\t5"_ba);
    bad("leading space", " 1"_ba);
    bad("trailing space", "1 "_ba);
    bad("trailing CR", "1\r"_ba);
    bad("trailing NUL", "1\0"_ba);
    bad("fullwidth digit", "\xef\xbc\x91"_ba);
    bad("digits then letters", "123abc"_ba);
}

void tst_Protocol::parseTime()
{
    QFETCH(QByteArray, text);
    QFETCH(bool, valid);
    QFETCH(qint64, sec);
    QFETCH(int, nsec);

    const auto t = herd::protocol::parseTime(text);
    QVERIFY2(t.has_value() == valid,
             ("parseTime(" + describe(text) + (valid ? ") rejected" : ") accepted")).constData());
    if (valid)
        QCOMPARE(*t, (Timestamp{sec, nsec}));
}

void tst_Protocol::timeOrdering_data()
{
    QTest::addColumn<QByteArray>("a");
    QTest::addColumn<QByteArray>("b");
    QTest::addColumn<int>("order");   // sign of a <=> b

    QTest::newRow("503 < 504") << "1621464827.959498503"_ba << "1621464827.959498504"_ba << -1;
    QTest::newRow("504 > 503") << "1621464827.959498504"_ba << "1621464827.959498503"_ba << 1;
    QTest::newRow("short fraction < longer") << "1621464827.9"_ba << "1621464827.900000001"_ba
                                             << -1;
    QTest::newRow("fraction carries second") << "1621464827.999999999"_ba << "1621464828"_ba
                                             << -1;
    QTest::newRow("0 < 1ns") << "0"_ba << "0.000000001"_ba << -1;
    QTest::newRow("9 < 10") << "9"_ba << "10"_ba << -1;
    QTest::newRow("equal padded") << "1.5"_ba << "1.500000000"_ba << 0;
    QTest::newRow("equal integer") << "1"_ba << "1.0"_ba << 0;
    QTest::newRow("equal leading zeros") << "0001"_ba << "1"_ba << 0;
}

void tst_Protocol::timeOrdering()
{
    QFETCH(QByteArray, a);
    QFETCH(QByteArray, b);
    QFETCH(int, order);

    const auto ta = herd::protocol::parseTime(a);
    const auto tb = herd::protocol::parseTime(b);
    QVERIFY(ta && tb);
    const auto cmp = *ta <=> *tb;
    const int got = cmp < 0 ? -1 : cmp > 0 ? 1 : 0;
    QCOMPARE(got, order);
    QCOMPARE(*ta == *tb, order == 0);
}

// ---------------------------------------------------------------------------------------------
// parseLocation

void tst_Protocol::parseLocation_data()
{
    QTest::addColumn<QByteArray>("text");
    QTest::addColumn<bool>("valid");
    QTest::addColumn<double>("lat");
    QTest::addColumn<double>("lng");

    auto ok = [](const char *name, QByteArray text, double lat, double lng) {
        QTest::newRow(name) << text << true << lat << lng;
    };
    auto bad = [](const char *name, QByteArray text) {
        QTest::newRow(name) << text << false << 0.0 << 0.0;
    };

    ok("UCLA", "+34.068930-118.445127"_ba, 34.068930, -118.445127);
    ok("Sydney", "-33.8688+151.2093"_ba, -33.8688, 151.2093);
    ok("integers", "+34-118"_ba, 34, -118);
    ok("north-west corner", "+90-180"_ba, 90, -180);
    ok("south-east corner, zero fractions", "-90.000+180.0"_ba, -90, 180);
    ok("origin", "+0+0"_ba, 0, 0);
    ok("negative zeros", "-0.0-0.0"_ba, 0, 0);
    ok("3 integer digits", "+045.5-007.25"_ba, 45.5, -7.25);
    ok("15 fraction digits", "+12.123456789012345-123.987654321098765"_ba,
       12.123456789012345, -123.987654321098765);
    ok("just under the limits", "+89.999999999999999-179.999999999999999"_ba,
       89.999999999999999, -179.999999999999999);

    bad("empty", ""_ba);
    bad("no signs", "34.068930118.445127"_ba);
    bad("no latitude sign", "34.0-118.0"_ba);
    bad("no longitude sign", "+34.0118.0"_ba);
    bad("latitude only", "+34.068930"_ba);
    bad("sign only", "+"_ba);
    bad("three numbers", "+34-118+5"_ba);
    bad("4 latitude digits", "+0034-118"_ba);
    bad("4 longitude digits", "+34-0118"_ba);
    bad("16 latitude fraction digits", "+1.1234567890123456+0"_ba);
    bad("16 longitude fraction digits", "+0+1.1234567890123456"_ba);
    bad("latitude over by a hair", "+90.0000001+0"_ba);
    bad("latitude under by a hair", "-90.000000000000001+0"_ba);
    bad("longitude over by a hair", "+0+180.000001"_ba);
    bad("longitude under by a hair", "+0-180.000000000000001"_ba);
    bad("latitude 91", "+91+0"_ba);
    bad("latitude -91", "-91+0"_ba);
    bad("latitude 100", "+100+0"_ba);
    bad("longitude 181", "+0+181"_ba);
    bad("longitude -999", "+0-999"_ba);
    bad("exponent", "+3.4e1-118"_ba);
    bad("exponent upper", "+34-1.18E2"_ba);
    bad("nan", "nan"_ba);
    bad("signed nan", "+nan+nan"_ba);
    bad("inf", "+inf-inf"_ba);
    bad("comma decimal", "+34,068930-118,445127"_ba);
    bad("comma separator", "+34.0,-118.0"_ba);
    bad("trailing dot latitude", "+34.-118"_ba);
    bad("trailing dot longitude", "+34-118."_ba);
    bad("leading dot", "+.5+1"_ba);
    bad("double sign", "++34-118"_ba);
    bad("sign run between", "+34+-118"_ba);
    bad("space between", "+34.0 -118.0"_ba);
    bad("leading space", " +34-118"_ba);
    bad("trailing space", "+34-118 "_ba);
    bad("slash suffix (ISO 6709 CRS)", "+34-118/"_ba);
    bad("hex", "+0x1A+0"_ba);
    bad("unicode minus", "+34\xe2\x88\x92" "118"_ba);
    bad("trailing NUL", "+34-118\0"_ba);
}

void tst_Protocol::parseLocation()
{
    QFETCH(QByteArray, text);
    QFETCH(bool, valid);
    QFETCH(double, lat);
    QFETCH(double, lng);

    const auto loc = herd::protocol::parseLocation(text);
    QVERIFY2(loc.has_value() == valid,
             ("parseLocation(" + describe(text) + (valid ? ") rejected" : ") accepted")).constData());
    if (!valid)
        return;
    QVERIFY2(near(loc->lat, lat),
             ("lat " + QByteArray::number(loc->lat, 'g', 17) + " != "
              + QByteArray::number(lat, 'g', 17)).constData());
    QVERIFY2(near(loc->lng, lng),
             ("lng " + QByteArray::number(loc->lng, 'g', 17) + " != "
              + QByteArray::number(lng, 'g', 17)).constData());
}

// ---------------------------------------------------------------------------------------------
// parseRadiusKm / parseBound

void tst_Protocol::parseRadiusKm_data()
{
    QTest::addColumn<QByteArray>("text");
    QTest::addColumn<bool>("valid");
    QTest::addColumn<double>("value");

    auto ok = [](const char *name, QByteArray text, double value) {
        QTest::newRow(name) << text << true << value;
    };
    auto bad = [](const char *name, QByteArray text) {
        QTest::newRow(name) << text << false << 0.0;
    };

    ok("10", "10"_ba, 10);
    ok("0.5", "0.5"_ba, 0.5);
    ok(".5", ".5"_ba, 0.5);
    ok("50", "50"_ba, 50);
    ok("50.0", "50.0"_ba, 50);
    ok("50 with many zeros", "50.000000000000000000000"_ba, 50);
    ok("just under 50", "49.9999"_ba, 49.9999);
    ok("under 50 by less than a double ulp", "49.99999999999999999999"_ba, 50);
    ok("tiny", "0.001"_ba, 0.001);
    ok("tiny beyond double digits", "0.000000000000000000001"_ba, 1e-21);
    ok("1", "1"_ba, 1);
    ok("leading zero", "07"_ba, 7);

    bad("empty", ""_ba);
    bad("0", "0"_ba);
    bad("0.0", "0.0"_ba);
    bad(".0", ".0"_ba);
    bad("many zeros", "0.000000000000000000000"_ba);
    bad("50.0001", "50.0001"_ba);
    bad("over 50 by less than a double ulp", "50.0000000000000001"_ba);
    bad("51", "51"_ba);
    bad("huge", "1000000000000"_ba);
    bad("-1", "-1"_ba);
    bad("-0.5", "-0.5"_ba);
    bad("+5", "+5"_ba);
    bad("1e1", "1e1"_ba);
    bad("abc", "abc"_ba);
    bad("5.", "5."_ba);
    bad("dot only", "."_ba);
    bad("comma", "1,5"_ba);
    bad("hex", "0x10"_ba);
    bad("nan", "nan"_ba);
    bad("inf", "inf"_ba);
    bad("two dots", "1.2.3"_ba);
    bad("leading space", " 5"_ba);
    bad("trailing space", "5 "_ba);
    bad("unit suffix", "5km"_ba);
}

void tst_Protocol::parseRadiusKm()
{
    QFETCH(QByteArray, text);
    QFETCH(bool, valid);
    QFETCH(double, value);

    const auto r = herd::protocol::parseRadiusKm(text);
    QVERIFY2(r.has_value() == valid,
             ("parseRadiusKm(" + describe(text) + (valid ? ") rejected" : ") accepted")).constData());
    if (!valid)
        return;
    QVERIFY2(near(*r, value), ("radius " + QByteArray::number(*r, 'g', 17)).constData());
    QVERIFY2(*r > 0 && *r <= 50, "radius out of (0, 50]");
}

void tst_Protocol::parseBound_data()
{
    QTest::addColumn<QByteArray>("text");
    QTest::addColumn<bool>("valid");
    QTest::addColumn<int>("value");

    for (int i = 1; i <= 20; ++i) {
        const QByteArray s = QByteArray::number(i);
        QTest::addRow("%d", i) << s << true << i;
    }
    QTest::newRow("leading zero") << "05"_ba << true << 5;

    auto bad = [](const char *name, QByteArray text) {
        QTest::newRow(name) << text << false << 0;
    };
    bad("empty", ""_ba);
    bad("0", "0"_ba);
    bad("00", "00"_ba);
    bad("21", "21"_ba);
    bad("100", "100"_ba);
    bad("huge", "99999999999"_ba);
    bad("-1", "-1"_ba);
    bad("+3", "+3"_ba);
    bad("1.0", "1.0"_ba);
    bad("1.", "1."_ba);
    bad("1e1", "1e1"_ba);
    bad("abc", "abc"_ba);
    bad("hex", "0x5"_ba);
    bad("leading space", " 3"_ba);
    bad("trailing space", "3 "_ba);
}

void tst_Protocol::parseBound()
{
    QFETCH(QByteArray, text);
    QFETCH(bool, valid);
    QFETCH(int, value);

    const auto b = herd::protocol::parseBound(text);
    QVERIFY2(b.has_value() == valid,
             ("parseBound(" + describe(text) + (valid ? ") rejected" : ") accepted")).constData());
    if (valid)
        QCOMPARE(*b, value);
}

// ---------------------------------------------------------------------------------------------
// isSkew / formatSkew

void tst_Protocol::isSkew_data()
{
    QTest::addColumn<QByteArray>("text");
    QTest::addColumn<bool>("valid");

    QTest::newRow("positive") << "+0.263873386"_ba << true;
    QTest::newRow("negative") << "-3599.912000000"_ba << true;
    QTest::newRow("zero") << "+0.000000000"_ba << true;
    QTest::newRow("18-digit seconds") << "-999999998378535171.999999999"_ba << true;

    QTest::newRow("empty") << ""_ba << false;
    QTest::newRow("sign only") << "+"_ba << false;
    QTest::newRow("no sign") << "0.263873386"_ba << false;
    QTest::newRow("no sign, 12 bytes") << "00.263873386"_ba << false;
    QTest::newRow("no integer digits") << "+.263873386"_ba << false;
    QTest::newRow("8 fraction digits") << "+0.26387338"_ba << false;
    QTest::newRow("10 fraction digits") << "+0.2638733860"_ba << false;
    QTest::newRow("no fraction") << "+263873386"_ba << false;
    QTest::newRow("comma") << "+0,263873386"_ba << false;
    QTest::newRow("letter in fraction") << "+0.26387338a"_ba << false;
    QTest::newRow("letter in seconds") << "+1x.263873386"_ba << false;
    QTest::newRow("double sign") << "++0.263873386"_ba << false;
    QTest::newRow("two dots") << "+0.0.263873386"_ba << false;
    QTest::newRow("exponent") << "+1e3.000000000"_ba << false;
    QTest::newRow("trailing space") << "+0.263873386 "_ba << false;
}

void tst_Protocol::isSkew()
{
    QFETCH(QByteArray, text);
    QFETCH(bool, valid);
    QVERIFY2(herd::protocol::isSkew(text) == valid,
             ("isSkew(" + describe(text) + (valid ? ") is false" : ") is true")).constData());
}

void tst_Protocol::formatSkew_data()
{
    QTest::addColumn<qint64>("receivedSec");
    QTest::addColumn<int>("receivedNsec");
    QTest::addColumn<qint64>("clientSec");
    QTest::addColumn<int>("clientNsec");
    QTest::addColumn<QByteArray>("expected");

    QTest::newRow("classic example") << qint64(1621464828) << 223371889
                                  << qint64(1621464827) << 959498503 << "+0.263873386"_ba;
    QTest::newRow("zero") << qint64(1621464827) << 959498503
                          << qint64(1621464827) << 959498503 << "+0.000000000"_ba;
    QTest::newRow("zero at epoch") << qint64(0) << 0 << qint64(0) << 0 << "+0.000000000"_ba;
    QTest::newRow("classic negative") << qint64(1621464828) << 47498503
                                   << qint64(1621468427) << 959498503 << "-3599.912000000"_ba;
    QTest::newRow("whole seconds ahead") << qint64(12) << 0 << qint64(10) << 0 << "+2.000000000"_ba;
    QTest::newRow("whole seconds behind") << qint64(10) << 0 << qint64(12) << 0 << "-2.000000000"_ba;
    QTest::newRow("same second, ahead") << qint64(5) << 700000000 << qint64(5) << 500000000
                                        << "+0.200000000"_ba;
    QTest::newRow("same second, behind") << qint64(5) << 500000000 << qint64(5) << 700000000
                                         << "-0.200000000"_ba;
    QTest::newRow("borrow, positive") << qint64(10) << 100000000 << qint64(9) << 900000000
                                      << "+0.200000000"_ba;
    QTest::newRow("borrow, negative") << qint64(9) << 900000000 << qint64(10) << 100000000
                                      << "-0.200000000"_ba;
    QTest::newRow("1 ns across the second, positive") << qint64(10) << 0 << qint64(9) << 999999999
                                                      << "+0.000000001"_ba;
    QTest::newRow("1 ns across the second, negative") << qint64(9) << 999999999 << qint64(10) << 0
                                                      << "-0.000000001"_ba;
    QTest::newRow("borrow, several seconds") << qint64(100) << 1 << qint64(50) << 2
                                             << "+49.999999999"_ba;
    QTest::newRow("carry, several seconds") << qint64(50) << 2 << qint64(100) << 1
                                            << "-49.999999999"_ba;
    QTest::newRow("18-digit client seconds")
        << qint64(1621464828) << 0 << qint64(999999999999999999LL) << 999999999
        << "-999999998378535171.999999999"_ba;
    QTest::newRow("18-digit client seconds, borrow")
        << qint64(1621464828) << 999999999 << qint64(999999999999999999LL) << 0
        << "-999999998378535170.000000001"_ba;
    QTest::newRow("client at epoch") << qint64(999999999999999999LL) << 999999999 << qint64(0) << 0
                                     << "+999999999999999999.999999999"_ba;
}

void tst_Protocol::formatSkew()
{
    QFETCH(qint64, receivedSec);
    QFETCH(int, receivedNsec);
    QFETCH(qint64, clientSec);
    QFETCH(int, clientNsec);
    QFETCH(QByteArray, expected);

    const QByteArray skew = herd::protocol::formatSkew(Timestamp{receivedSec, receivedNsec},
                                                       Timestamp{clientSec, clientNsec});
    QCOMPARE(skew, expected);
    QVERIFY2(herd::protocol::isSkew(skew), ("formatSkew output fails isSkew: " + skew).constData());
}

// ---------------------------------------------------------------------------------------------
// parse

void tst_Protocol::parseKind_data()
{
    QTest::addColumn<QByteArray>("line");
    QTest::addColumn<Kind>("kind");
    QTest::addColumn<int>("fieldCount");

    const QByteArray loc = "+34.068930-118.445127"_ba;
    const QByteArray time = "1621464827.959498503"_ba;
    const QByteArray iamat = "IAMAT kiwi.cs.ucla.edu "_ba + loc + ' ' + time;
    const QByteArray at = "AT Hill +0.263873386 kiwi.cs.ucla.edu "_ba + loc + ' ' + time;

    // Blank: no reply.
    QTest::newRow("empty") << ""_ba << Kind::Blank << 0;
    QTest::newRow("spaces") << "   "_ba << Kind::Blank << 0;
    QTest::newRow("all white space") << " \t\r\f\v"_ba << Kind::Blank << 0;
    QTest::newRow("lone CR") << "\r"_ba << Kind::Blank << 0;

    // IAMAT
    QTest::newRow("IAMAT") << iamat << Kind::Iamat << 4;
    QTest::newRow("IAMAT white space runs") << " \tIAMAT \v kiwi.cs.ucla.edu\f\f" + loc + "\t\t" + time + "\r "
                                            << Kind::Iamat << 4;
    QTest::newRow("IAMAT stray CR") << iamat + '\r' << Kind::Iamat << 4;
    QTest::newRow("IAMAT integer time") << "IAMAT c +34-118 1621464827"_ba << Kind::Iamat << 4;
    QTest::newRow("IAMAT 7-digit time") << "IAMAT c -33.8688+151.2093 1589999999.1234567"_ba
                                        << Kind::Iamat << 4;
    QTest::newRow("IAMAT client named IAMAT") << "IAMAT IAMAT +0+0 0"_ba << Kind::Iamat << 4;
    QTest::newRow("IAMAT only") << "IAMAT"_ba << Kind::Invalid << 1;
    QTest::newRow("IAMAT 3 fields") << "IAMAT kiwi.cs.ucla.edu "_ba + loc << Kind::Invalid << 3;
    QTest::newRow("IAMAT 5 fields") << iamat + " extra" << Kind::Invalid << 5;
    QTest::newRow("IAMAT 8 fields") << iamat + " a b c d" << Kind::Invalid << 8;
    QTest::newRow("IAMAT bad location") << "IAMAT c 34.068930-118.445127 "_ba + time
                                        << Kind::Invalid << 4;
    QTest::newRow("IAMAT latitude out of range") << "IAMAT c +91-118 "_ba + time
                                                 << Kind::Invalid << 4;
    QTest::newRow("IAMAT bad time") << "IAMAT c "_ba + loc + " -1621464827" << Kind::Invalid << 4;
    QTest::newRow("IAMAT 10 fraction digits") << "IAMAT c "_ba + loc + " 1621464827.9594985031"
                                              << Kind::Invalid << 4;
    QTest::newRow("IAMAT swapped fields") << "IAMAT c "_ba + time + ' ' + loc << Kind::Invalid << 4;
    QTest::newRow("lowercase iamat") << "iamat kiwi.cs.ucla.edu "_ba + loc + ' ' + time
                                     << Kind::Invalid << 4;
    QTest::newRow("mixed case Iamat") << "Iamat kiwi.cs.ucla.edu "_ba + loc + ' ' + time
                                      << Kind::Invalid << 4;
    QTest::newRow("IAMAT with NUL") << "IAMAT\0 c "_ba + loc + ' ' + time << Kind::Invalid << 4;
    QTest::newRow("IAMATX") << "IAMATX c "_ba + loc + ' ' + time << Kind::Invalid << 4;

    // WHATSAT
    QTest::newRow("WHATSAT") << "WHATSAT kiwi.cs.ucla.edu 10 5"_ba << Kind::Whatsat << 4;
    QTest::newRow("WHATSAT limits") << "WHATSAT c 50 20"_ba << Kind::Whatsat << 4;
    QTest::newRow("WHATSAT small") << "WHATSAT c .5 1"_ba << Kind::Whatsat << 4;
    QTest::newRow("WHATSAT tabs") << "\tWHATSAT\tc\t10\t5\t"_ba << Kind::Whatsat << 4;
    QTest::newRow("WHATSAT 3 fields") << "WHATSAT kiwi.cs.ucla.edu 10"_ba << Kind::Invalid << 3;
    QTest::newRow("WHATSAT 5 fields") << "WHATSAT kiwi.cs.ucla.edu 10 5 5"_ba << Kind::Invalid << 5;
    QTest::newRow("WHATSAT radius 0") << "WHATSAT c 0 5"_ba << Kind::Invalid << 4;
    QTest::newRow("WHATSAT radius 51") << "WHATSAT c 51 2"_ba << Kind::Invalid << 4;
    QTest::newRow("WHATSAT radius 50.0001") << "WHATSAT c 50.0001 2"_ba << Kind::Invalid << 4;
    QTest::newRow("WHATSAT radius -1") << "WHATSAT c -1 2"_ba << Kind::Invalid << 4;
    QTest::newRow("WHATSAT radius abc") << "WHATSAT c abc 2"_ba << Kind::Invalid << 4;
    QTest::newRow("WHATSAT bound 0") << "WHATSAT c 10 0"_ba << Kind::Invalid << 4;
    QTest::newRow("WHATSAT bound 21") << "WHATSAT c 10 21"_ba << Kind::Invalid << 4;
    QTest::newRow("WHATSAT bound 1.0") << "WHATSAT c 10 1.0"_ba << Kind::Invalid << 4;
    QTest::newRow("WHATSAT bound +3") << "WHATSAT c 10 +3"_ba << Kind::Invalid << 4;
    QTest::newRow("lowercase whatsat") << "whatsat c 10 5"_ba << Kind::Invalid << 4;

    // AT (valid syntax; only a peer may send it, which the connection decides)
    QTest::newRow("AT") << at << Kind::At << 6;
    QTest::newRow("AT negative skew") << "AT Jaquez -3599.912000000 c +34-118 1621464827"_ba
                                      << Kind::At << 6;
    QTest::newRow("AT 5 fields") << "AT Hill +0.263873386 kiwi.cs.ucla.edu "_ba + loc
                                 << Kind::Invalid << 5;
    QTest::newRow("AT 7 fields") << at + " extra" << Kind::Invalid << 7;
    QTest::newRow("AT unsigned skew") << "AT Hill 0.263873386 c "_ba + loc + ' ' + time
                                      << Kind::Invalid << 6;
    QTest::newRow("AT short skew") << "AT Hill +0.26 c "_ba + loc + ' ' + time
                                   << Kind::Invalid << 6;
    QTest::newRow("AT bad location") << "AT Hill +0.263873386 c +34.0 "_ba + time
                                     << Kind::Invalid << 6;
    QTest::newRow("AT bad time") << "AT Hill +0.263873386 c "_ba + loc + " 1.5e9"
                                 << Kind::Invalid << 6;
    QTest::newRow("lowercase at") << "at Hill +0.263873386 c "_ba + loc + ' ' + time
                                  << Kind::Invalid << 6;

    // Peer-link control lines
    QTest::newRow("HERD-HELLO") << "HERD-HELLO Hill"_ba << Kind::Peer << 2;
    QTest::newRow("HERD-PING") << "HERD-PING 42"_ba << Kind::Peer << 2;
    QTest::newRow("HERD- many fields") << "HERD-X 1 2 3 4 5 6 7"_ba << Kind::Peer << 8;
    QTest::newRow("lowercase herd-") << "herd-hello Hill"_ba << Kind::Invalid << 2;
    QTest::newRow("HERD without dash") << "HERD hello"_ba << Kind::Invalid << 2;

    // Anything else
    QTest::newRow("unknown command") << "HELLO world"_ba << Kind::Invalid << 2;
    QTest::newRow("single word") << "x"_ba << Kind::Invalid << 1;
    QTest::newRow("question mark echo") << "? IAMAT c +0+0 0"_ba << Kind::Invalid << 5;
    QTest::newRow("binary") << "\x01\x02\xff"_ba << Kind::Invalid << 1;
}

void tst_Protocol::parseKind()
{
    QFETCH(QByteArray, line);
    QFETCH(Kind, kind);
    QFETCH(int, fieldCount);

    const Message m = herd::protocol::parse(line);
    QCOMPARE(m.kind, kind);
    QCOMPARE(m.fieldCount, fieldCount);
}

void tst_Protocol::parseIamat_data()
{
    QTest::addColumn<QByteArray>("line");
    QTest::addColumn<QByteArray>("client");
    QTest::addColumn<QByteArray>("location");
    QTest::addColumn<QByteArray>("time");
    QTest::addColumn<qint64>("sec");
    QTest::addColumn<int>("nsec");
    QTest::addColumn<double>("lat");
    QTest::addColumn<double>("lng");

    QTest::newRow("classic example")
        << "IAMAT kiwi.cs.ucla.edu +34.068930-118.445127 1621464827.959498503"_ba
        << "kiwi.cs.ucla.edu"_ba << "+34.068930-118.445127"_ba << "1621464827.959498503"_ba
        << qint64(1621464827) << 959498503 << 34.068930 << -118.445127;
    QTest::newRow("white space around")
        << "\v IAMAT\tkiwi\f\f-33.8688+151.2093 \r 1589999999.1234567\r\t"_ba
        << "kiwi"_ba << "-33.8688+151.2093"_ba << "1589999999.1234567"_ba
        << qint64(1589999999) << 123456700 << -33.8688 << 151.2093;
    QTest::newRow("integer time, short location")
        << "IAMAT c +34-118 1621464827"_ba << "c"_ba << "+34-118"_ba << "1621464827"_ba
        << qint64(1621464827) << 0 << 34.0 << -118.0;
    QTest::newRow("UTF-8 client")
        << "IAMAT caf\xc3\xa9-\xe2\x98\x95 +0+0 0"_ba << "caf\xc3\xa9-\xe2\x98\x95"_ba
        << "+0+0"_ba << "0"_ba << qint64(0) << 0 << 0.0 << 0.0;
    QTest::newRow("NUL in client")
        << "IAMAT a\0b +0+0 0.5"_ba << "a\0b"_ba << "+0+0"_ba << "0.5"_ba
        << qint64(0) << 500000000 << 0.0 << 0.0;
    QTest::newRow("punctuation client")
        << "IAMAT !\"#$%&'()*,./:;<=>?@[\\]^_`{|}~ +90-180 1"_ba
        << "!\"#$%&'()*,./:;<=>?@[\\]^_`{|}~"_ba << "+90-180"_ba << "1"_ba
        << qint64(1) << 0 << 90.0 << -180.0;
    QTest::newRow("control and high bytes client")
        << "IAMAT \x01\x1b\x7f\x80\xff +0+0 0"_ba << "\x01\x1b\x7f\x80\xff"_ba
        << "+0+0"_ba << "0"_ba << qint64(0) << 0 << 0.0 << 0.0;
    QTest::newRow("client looks like a location")
        << "IAMAT +34-118 +34-118 7"_ba << "+34-118"_ba << "+34-118"_ba << "7"_ba
        << qint64(7) << 0 << 34.0 << -118.0;
    QTest::newRow("long client")
        << "IAMAT "_ba + QByteArray(1000, 'x') + " -90.000+180.0 0001.5"
        << QByteArray(1000, 'x') << "-90.000+180.0"_ba << "0001.5"_ba
        << qint64(1) << 500000000 << -90.0 << 180.0;
}

void tst_Protocol::parseIamat()
{
    QFETCH(QByteArray, line);
    QFETCH(QByteArray, client);
    QFETCH(QByteArray, location);
    QFETCH(QByteArray, time);
    QFETCH(qint64, sec);
    QFETCH(int, nsec);
    QFETCH(double, lat);
    QFETCH(double, lng);

    const Message m = herd::protocol::parse(line);
    QCOMPARE(m.kind, Kind::Iamat);
    QCOMPARE(m.fieldCount, 4);
    QCOMPARE(m.client.toByteArray(), client);
    QCOMPARE(m.location.toByteArray(), location);
    QCOMPARE(m.time.toByteArray(), time);
    QVERIFY2(pointsInto(m.client, line) && pointsInto(m.location, line) && pointsInto(m.time, line),
             "IAMAT views must point into the line, not at copies");
    QCOMPARE(m.timestamp, (Timestamp{sec, nsec}));
    QVERIFY2(near(m.position.lat, lat), ("lat " + QByteArray::number(m.position.lat, 'g', 17)).constData());
    QVERIFY2(near(m.position.lng, lng), ("lng " + QByteArray::number(m.position.lng, 'g', 17)).constData());
}

void tst_Protocol::parseWhatsat_data()
{
    QTest::addColumn<QByteArray>("line");
    QTest::addColumn<QByteArray>("client");
    QTest::addColumn<double>("radius");
    QTest::addColumn<int>("bound");

    QTest::newRow("classic example") << "WHATSAT kiwi.cs.ucla.edu 10 2"_ba << "kiwi.cs.ucla.edu"_ba
                                  << 10.0 << 2;
    QTest::newRow("limits") << "WHATSAT c 50.0 20"_ba << "c"_ba << 50.0 << 20;
    QTest::newRow("small radius") << "WHATSAT c .5 1"_ba << "c"_ba << 0.5 << 1;
    QTest::newRow("white space") << "\tWHATSAT  x\r0.25\f\v7 "_ba << "x"_ba << 0.25 << 7;
    QTest::newRow("UTF-8 NUL client") << "WHATSAT \xc3\xa9\0! 1 1"_ba << "\xc3\xa9\0!"_ba << 1.0 << 1;
}

void tst_Protocol::parseWhatsat()
{
    QFETCH(QByteArray, line);
    QFETCH(QByteArray, client);
    QFETCH(double, radius);
    QFETCH(int, bound);

    const Message m = herd::protocol::parse(line);
    QCOMPARE(m.kind, Kind::Whatsat);
    QCOMPARE(m.client.toByteArray(), client);
    QVERIFY2(pointsInto(m.client, line), "WHATSAT client must be a view into the line");
    QVERIFY2(near(m.radiusKm, radius), ("radius " + QByteArray::number(m.radiusKm, 'g', 17)).constData());
    QCOMPARE(m.bound, bound);
}

void tst_Protocol::parseAt_data()
{
    QTest::addColumn<QByteArray>("line");
    QTest::addColumn<QByteArray>("origin");
    QTest::addColumn<QByteArray>("skew");
    QTest::addColumn<QByteArray>("client");
    QTest::addColumn<QByteArray>("location");
    QTest::addColumn<QByteArray>("time");
    QTest::addColumn<qint64>("sec");
    QTest::addColumn<int>("nsec");

    QTest::newRow("classic example")
        << "AT Hill +0.263873386 kiwi.cs.ucla.edu +34.068930-118.445127 1621464827.959498503"_ba
        << "Hill"_ba << "+0.263873386"_ba << "kiwi.cs.ucla.edu"_ba << "+34.068930-118.445127"_ba
        << "1621464827.959498503"_ba << qint64(1621464827) << 959498503;
    QTest::newRow("negative skew, tabs")
        << "AT\tSingleton\t-3599.912000000\tc\t+34-118\t1621464827\r"_ba
        << "Singleton"_ba << "-3599.912000000"_ba << "c"_ba << "+34-118"_ba << "1621464827"_ba
        << qint64(1621464827) << 0;
    QTest::newRow("odd client")
        << "AT Hill +0.000000000 \xe2\x98\x95\0;| -33.8688+151.2093 1589999999.1234567"_ba
        << "Hill"_ba << "+0.000000000"_ba << "\xe2\x98\x95\0;|"_ba << "-33.8688+151.2093"_ba
        << "1589999999.1234567"_ba << qint64(1589999999) << 123456700;
}

void tst_Protocol::parseAt()
{
    QFETCH(QByteArray, line);
    QFETCH(QByteArray, origin);
    QFETCH(QByteArray, skew);
    QFETCH(QByteArray, client);
    QFETCH(QByteArray, location);
    QFETCH(QByteArray, time);
    QFETCH(qint64, sec);
    QFETCH(int, nsec);

    const Message m = herd::protocol::parse(line);
    QCOMPARE(m.kind, Kind::At);
    QCOMPARE(m.fieldCount, 6);
    QCOMPARE(m.origin.toByteArray(), origin);
    QCOMPARE(m.skew.toByteArray(), skew);
    QCOMPARE(m.client.toByteArray(), client);
    QCOMPARE(m.location.toByteArray(), location);
    QCOMPARE(m.time.toByteArray(), time);
    for (QByteArrayView v : {m.origin, m.skew, m.client, m.location, m.time})
        QVERIFY2(pointsInto(v, line), "AT views must point into the line, not at copies");
    QCOMPARE(m.timestamp, (Timestamp{sec, nsec}));
}

// ---------------------------------------------------------------------------------------------
// formatAt

void tst_Protocol::formatAt_data()
{
    QTest::addColumn<QByteArray>("node");
    QTest::addColumn<qint64>("receivedSec");
    QTest::addColumn<int>("receivedNsec");
    QTest::addColumn<QByteArray>("iamat");
    QTest::addColumn<QByteArray>("expected");

    QTest::newRow("classic example")
        << "Hill"_ba << qint64(1621464828) << 223371889
        << "IAMAT kiwi.cs.ucla.edu +34.068930-118.445127 1621464827.959498503"_ba
        << "AT Hill +0.263873386 kiwi.cs.ucla.edu +34.068930-118.445127 1621464827.959498503"_ba;
    QTest::newRow("white space normalised to single spaces")
        << "Hill"_ba << qint64(1621464828) << 223371889
        << "\t IAMAT\tkiwi.cs.ucla.edu \v +34.068930-118.445127\f1621464827.959498503 \r"_ba
        << "AT Hill +0.263873386 kiwi.cs.ucla.edu +34.068930-118.445127 1621464827.959498503"_ba;
    QTest::newRow("location and integer time verbatim")
        << "Jaquez"_ba << qint64(1621464827) << 500000000
        << "IAMAT c +34-118 1621464827"_ba
        << "AT Jaquez +0.500000000 c +34-118 1621464827"_ba;
    QTest::newRow("short fraction not padded, negative skew")
        << "Smith"_ba << qint64(1589999999) << 0
        << "IAMAT c -33.8688+151.2093 1589999999.1234567"_ba
        << "AT Smith -0.123456700 c -33.8688+151.2093 1589999999.1234567"_ba;
    QTest::newRow("client an hour ahead")
        << "Campbell"_ba << qint64(1621464828) << 47498503
        << "IAMAT c +0+0 1621468427.959498503"_ba
        << "AT Campbell -3599.912000000 c +0+0 1621468427.959498503"_ba;
    QTest::newRow("leading zeros kept")
        << "Singleton"_ba << qint64(2) << 0
        << "IAMAT c -90.000+180.0 0001.50"_ba
        << "AT Singleton +0.500000000 c -90.000+180.0 0001.50"_ba;
    QTest::newRow("odd client bytes")
        << "Hill"_ba << qint64(1) << 1
        << "IAMAT a\0\xc3\xa9\x01!\\\" +0+0 0"_ba
        << "AT Hill +1.000000001 a\0\xc3\xa9\x01!\\\" +0+0 0"_ba;
    QTest::newRow("18-digit client seconds")
        << "Hill"_ba << qint64(1621464828) << 0
        << "IAMAT c +0+0 999999999999999999.999999999"_ba
        << "AT Hill -999999998378535171.999999999 c +0+0 999999999999999999.999999999"_ba;
}

void tst_Protocol::formatAt()
{
    QFETCH(QByteArray, node);
    QFETCH(qint64, receivedSec);
    QFETCH(int, receivedNsec);
    QFETCH(QByteArray, iamat);
    QFETCH(QByteArray, expected);

    const Message m = herd::protocol::parse(iamat);
    QCOMPARE(m.kind, Kind::Iamat);
    const QByteArray out = herd::protocol::formatAt(node, Timestamp{receivedSec, receivedNsec}, m);
    QCOMPARE(out, expected);

    // What a node floods must parse back as the same AT, field for field.
    const Message back = herd::protocol::parse(out);
    QCOMPARE(back.kind, Kind::At);
    QCOMPARE(back.origin.toByteArray(), node);
    QCOMPARE(back.client.toByteArray(), m.client.toByteArray());
    QCOMPARE(back.location.toByteArray(), m.location.toByteArray());
    QCOMPARE(back.time.toByteArray(), m.time.toByteArray());
    QCOMPARE(back.timestamp, m.timestamp);
}

// ---------------------------------------------------------------------------------------------
// escaped

void tst_Protocol::escaped_data()
{
    QTest::addColumn<QByteArray>("input");
    QTest::addColumn<int>("maxBytes");   // -1: the default
    QTest::addColumn<QByteArray>("expected");

    QTest::newRow("empty") << ""_ba << -1 << ""_ba;
    QTest::newRow("plain") << "IAMAT kiwi.cs.ucla.edu +34-118 1.5"_ba << -1
                           << "IAMAT kiwi.cs.ucla.edu +34-118 1.5"_ba;
    QTest::newRow("printable punctuation") << " !\"#~`{}"_ba << -1 << " !\"#~`{}"_ba;
    QTest::newRow("LF") << "a\nb"_ba << -1 << "a\\nb"_ba;
    QTest::newRow("CR LF") << "a\r\n"_ba << -1 << "a\\r\\n"_ba;
    QTest::newRow("tab") << "\t"_ba << -1 << "\\t"_ba;
    QTest::newRow("backslash") << "a\\b"_ba << -1 << "a\\\\b"_ba;
    QTest::newRow("literal backslash-n stays distinct") << "\\n"_ba << -1 << "\\\\n"_ba;
    QTest::newRow("NUL") << "a\0b"_ba << -1 << "a\\x00b"_ba;
    QTest::newRow("FF VT") << "\f\v"_ba << -1 << "\\x0c\\x0b"_ba;
    QTest::newRow("ESC sequence") << "\x1b[31m"_ba << -1 << "\\x1b[31m"_ba;
    QTest::newRow("0x1f") << "\x1f"_ba << -1 << "\\x1f"_ba;
    QTest::newRow("DEL") << "\x7f"_ba << -1 << "\\x7f"_ba;
    QTest::newRow("UTF-8") << "caf\xc3\xa9"_ba << -1 << "caf\\xc3\\xa9"_ba;
    QTest::newRow("0x80 and 0xff") << "\x80\xff"_ba << -1 << "\\x80\\xff"_ba;
    QTest::newRow("exactly at the limit") << "abcd"_ba << 4 << "abcd"_ba;
    QTest::newRow("over the limit") << "abcdefgh"_ba << 4 << "abcd...(8 bytes)"_ba;
    QTest::newRow("escape straddles the limit") << "abc\nxyz"_ba << 4 << "abc\\n...(7 bytes)"_ba;
    QTest::newRow("limit 0") << "abc"_ba << 0 << "...(3 bytes)"_ba;
    QTest::newRow("default limit 512, not hit") << QByteArray(512, 'a') << -1 << QByteArray(512, 'a');
    QTest::newRow("default limit 512, hit") << QByteArray(600, 'a') << -1
                                            << QByteArray(512, 'a') + "...(600 bytes)";
}

void tst_Protocol::escaped()
{
    QFETCH(QByteArray, input);
    QFETCH(int, maxBytes);
    QFETCH(QByteArray, expected);

    const QByteArray out = maxBytes < 0 ? herd::protocol::escaped(input)
                                        : herd::protocol::escaped(input, maxBytes);
    QCOMPARE(out, expected);
    for (char c : out) {
        const auto u = static_cast<unsigned char>(c);
        QVERIFY2(u >= 0x20 && u < 0x7f, "escaped() output must be printable ASCII");
    }
    // The log keeps only the first maxBytes of a line for its writer thread to escape: the
    // same text must come out of that prefix (after whatever the buffer already held).
    const qsizetype limit = maxBytes < 0 ? 512 : maxBytes;
    for (qsizetype kept : {std::min(input.size(), limit), input.size()}) {
        QByteArray fromPrefix("head ");
        herd::protocol::appendEscapedPrefix(fromPrefix, QByteArrayView(input).first(kept), input.size(), limit);
        QCOMPARE(fromPrefix, "head " + expected);
    }
}

QTEST_GUILESS_MAIN(tst_Protocol)
#include "tst_protocol.moc"
