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
class QMenu;
class QModelIndex;
class QPlainTextEdit;
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
    QLineEdit *expressionEdit() const { return m_expressionEdit; }
    QPlainTextEdit *detailsPane() const { return m_details; }
    // The selected row in full: time, node, direction, peer, kind, then the line; a WHATSAT
    // reply as its AT line and the JSON indented.
    static QString rowDetails(const TrafficRow &row);
    // The context menu of the row at `index` (filter on this, hide this kind, show propagation,
    // follow, copy). The caller owns it; public so tests can trigger its actions.
    QMenu *createContextMenu(const QModelIndex &index);

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

    // Adds a term to the filter expression (see TrafficFilterProxy::setExpression).
    void addFilterTerm(const QString &term);
    void setHiddenKinds(quint32 mask);

Q_SIGNALS:
    void pausedChanged(bool paused);
    // "Show propagation" on a row that names a client: its newest update's flood.
    void propagationRequested(const QByteArray &client);

private:
    void applyTextFilters();
    void applyComboFilters();
    void applyExpression();
    void showDetails();
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
    QLineEdit *m_expressionEdit;
    QToolButton *m_kindsButton;
    QPlainTextEdit *m_details;
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
