/* ckpt/export.h - symbol visibility and deprecation macros. */
#ifndef CKPT_EXPORT_H
#define CKPT_EXPORT_H

#if defined(CKPT_STATIC_DEFINE)
#define CKPT_API
#elif defined(__GNUC__) || defined(__clang__)
#define CKPT_API __attribute__((visibility("default")))
#else
#define CKPT_API
#endif

#if defined(__GNUC__) || defined(__clang__)
#define CKPT_DEPRECATED(msg) __attribute__((deprecated(msg)))
#else
#define CKPT_DEPRECATED(msg)
#endif

#define CKPT_VERSION_MAJOR 0
#define CKPT_VERSION_MINOR 1
#define CKPT_VERSION_PATCH 0

#endif
