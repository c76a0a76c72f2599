export namespace inference {
	
	export interface ModelStatus {
	    name: string;
	    ready: boolean;
	    state: string;
	    versions: string[];
	    inference_count: number;
	    execution_count: number;
	    success_count: number;
	    failure_count: number;
	    queue_ns: number;
	    compute_infer_ns: number;
	}
	export interface ServerStatus {
	    address: string;
	    live: boolean;
	    ready: boolean;
	    name: string;
	    version: string;
	    models: ModelStatus[];
	}

}

export namespace main {
	
	export interface Settings {
	    server: string;
	    model: string;
	}

}

export namespace transcribe {
	
	export interface Result {
	    transcript: transcript.Transcript;
	    outputs: string[];
	}

}

export namespace transcript {
	
	export interface Word {
	    word: string;
	    start: number;
	    end: number;
	}
	export interface Segment {
	    start: number;
	    end: number;
	    text: string;
	    words: Word[];
	}
	export interface Transcript {
	    source: string;
	    sha256: string;
	    duration: number;
	    model: string;
	    text: string;
	    segments: Segment[];
	}

}

