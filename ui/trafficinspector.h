#pragma once
// The traffic inspector: every line in and out of every node, with a filter bar, pause/resume
// of the view only, follow one connection, and export of what the filter shows.
#include "monitor.h"

#include <QList>
#include <QString>
#include <QStringList>
#include <QWidget>

class QComboBox;
class QLabel;
class QLineEdit;
class QModelIndex;
class QPoint;
class QTableView;
class QTimer;
class QToolButton;

namespace herd {

class TrafficModel;
class TrafficFilterProxy;

class TrafficInspector final : public QWidget {
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(TrafficInspector)
public:
    explicit TrafficInspector(QWidget *parent = nullptr);

    TrafficModel *model() const { return m_model; }
    TrafficFilterProxy *proxy() const { return m_proxy; }
    QTableView *view() const { return m_view; }

    // Paused: the rows are held (the newest model()->capacity() of them, the rest counted as
    // dropped) and the bar shows "N new"; resuming appends them in one batch.
    void appendBatch(const QList<TrafficRow> &rows, quint64 droppedUpstream);
    void setNodes(const QStringList &nodes);   // the node filter's choices
    // Forgets every row (shown and held) and the dropped count: another herd is shown.
    void clear();
    bool isPaused() const { return m_paused; }
    quint64 newWhilePaused() const { return m_newWhilePaused; }   // rows arrived since pausing
    bool isFollowingTail() const { return m_followTail; }

    // The rows passing the current filter (not the ones held while paused), oldest first.
    // CSV (RFC 4180, CRLF records): time_us,time,node,direction,peer,kind,text with the text raw
    // (quoted, newlines and all). JSON Lines: one object per row with time_us, node, direction,
    // peer, kind and text, the text raw as a JSON string (JSON escapes its control bytes; bytes
    // that are not UTF-8 become U+FFFD). False with lastError() when the file cannot be written.
    bool exportCsv(const QString &file) const;
    bool exportJsonLines(const QString &file) const;
    QString lastError() const { return m_lastError; }

public Q_SLOTS:
    void setPaused(bool paused);
    void followConnection(const QString &node, const QByteArray &who);   // empty who = off
    void clearFilters();

Q_SIGNALS:
    void pausedChanged(bool paused);

private:
    void applyTextFilters();
    void applyComboFilters();
    void updateStatus();
    void updateFollowBar();
    void scrollToTailIfFollowing();
    void showContextMenu(const QPoint &pos);
    void copyRows(bool wholeRows) const;
    void exportWithDialog(bool csv);
    template<typename WriteRow>
    bool exportRows(const QString &file, const QByteArray &header, WriteRow writeRow) const;

    TrafficModel *m_model;
    TrafficFilterProxy *m_proxy;
    QTableView *m_view;
    QComboBox *m_nodeCombo;
    QComboBox *m_kindCombo;
    QLineEdit *m_clientEdit;
    QLineEdit *m_textEdit;
    QToolButton *m_pauseButton;
    QLabel *m_pausedLabel;
    QLabel *m_followLabel;
    QToolButton *m_stopFollowButton;
    QLabel *m_statusLabel;
    QTimer *m_textDebounce;

    bool m_paused = false;
    QList<TrafficRow> m_held;        // arrived while paused, bounded by the model's capacity
    quint64 m_heldDropped = 0;       // upstream drops and hold overflow while paused
    quint64 m_newWhilePaused = 0;
    bool m_followTail = true;        // at the bottom: new rows scroll into view
    bool m_scrolling = false;        // our own scrollbar moves, not the user's
    mutable QString m_lastError;
};

} // namespace herd
