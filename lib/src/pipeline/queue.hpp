// The queues of the reader -> compute -> writer pipeline. BoundedQueue: a bounded blocking
// queue; close() wakes every waiter: push() then returns false and pop() drains what is left,
// then returns false. ReorderBuffer: the results of several compute workers back in input order.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <map>
#include <mutex>
#include <optional>

namespace dnamba::pipeline {

template <typename T>
class BoundedQueue {
public:
    explicit BoundedQueue(std::size_t capacity) : capacity_(capacity ? capacity : 1) {}

    // Blocks while full; false if the queue was closed (the item is dropped).
    bool push(T value) {
        std::unique_lock<std::mutex> lock(mutex_);
        not_full_.wait(lock, [&] { return closed_ || items_.size() < capacity_; });
        if (closed_) return false;
        items_.push_back(std::move(value));
        not_empty_.notify_one();
        return true;
    }

    // Blocks while empty and open; nullopt once closed and drained.
    std::optional<T> pop() {
        std::unique_lock<std::mutex> lock(mutex_);
        not_empty_.wait(lock, [&] { return closed_ || !items_.empty(); });
        if (items_.empty()) return std::nullopt;
        T value = std::move(items_.front());
        items_.pop_front();
        not_full_.notify_one();
        return value;
    }

    void close() {
        std::lock_guard<std::mutex> lock(mutex_);
        closed_ = true;
        not_full_.notify_all();
        not_empty_.notify_all();
    }

private:
    std::size_t capacity_;
    std::deque<T> items_;
    bool closed_ = false;
    std::mutex mutex_;
    std::condition_variable not_full_, not_empty_;
};

// Results numbered 0, 1, 2, ... put by `producers` threads in any order, taken in number order.
// At most `window` results wait in it: put(n) blocks while n >= (next to take) + window, so
// the producer of the next result never waits and memory stays bounded.
template <typename T>
class ReorderBuffer {
public:
    ReorderBuffer(std::size_t window, std::size_t producers) : window_(window ? window : 1), producers_(producers) {}

    // Blocks while `seq` is beyond the window; false if the buffer was closed (the value is dropped).
    bool put(std::size_t seq, T value) {
        std::unique_lock<std::mutex> lock(mutex_);
        room_.wait(lock, [&] { return closed_ || seq < next_ + window_; });
        if (closed_) return false;
        waiting_.emplace(seq, std::move(value));
        if (seq == next_) ready_.notify_one();
        return true;
    }

    // A producer has put its last result.
    void producer_done() {
        std::lock_guard<std::mutex> lock(mutex_);
        --producers_;
        ready_.notify_one();
    }

    // The next result in number order; nullopt once every producer is done and it never came,
    // or once closed.
    std::optional<T> take() {
        std::unique_lock<std::mutex> lock(mutex_);
        ready_.wait(lock, [&] { return closed_ || producers_ == 0 || waiting_.count(next_) > 0; });
        const auto it = waiting_.find(next_);
        if (closed_ || it == waiting_.end()) return std::nullopt;
        T value = std::move(it->second);
        waiting_.erase(it);
        ++next_;
        room_.notify_all();
        return value;
    }

    void close() {
        std::lock_guard<std::mutex> lock(mutex_);
        closed_ = true;
        room_.notify_all();
        ready_.notify_all();
    }

private:
    std::size_t window_;
    std::size_t producers_;
    std::size_t next_ = 0;
    std::map<std::size_t, T> waiting_;
    bool closed_ = false;
    std::mutex mutex_;
    std::condition_variable room_, ready_;
};

}  // namespace dnamba::pipeline
