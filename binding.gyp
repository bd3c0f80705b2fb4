{
  "targets": [
    {
      "target_name": "aces_native",
      "sources": [
        "native/addon.c",
        "native/object.c",
        "native/link.c",
        "native/map.c",
        "native/ringbuf.c",
        "native/util.c"
      ],
      "cflags!": ["-O3"],
      "cflags": ["-fvisibility=hidden", "-Wall", "-Werror", "-O2"],
      "cflags_c": ["-std=gnu11"],
      "libraries": ["-lbpf", "-lelf", "-lz"]
    }
  ]
}
